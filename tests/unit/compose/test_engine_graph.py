"""The dependency graph: order, parallel walks, reverse walks, cycles, failures."""

from __future__ import annotations

import threading
import time

import pytest

from estiba.compose.engine.graph import Graph, dependencies_of, parallel
from estiba.errors import InvalidArgument


def graph(**edges: str) -> Graph:
    return Graph({name: [d for d in deps.split(",") if d] for name, deps in edges.items()})


def test_dependencies_come_from_depends_on_network_mode_and_volumes_from():
    service = {
        "depends_on": {"db": {"condition": "service_started"}},
        "network_mode": "service:proxy",
        "volumes_from": ["data:ro", "container:other"],
    }
    assert dependencies_of(service) == {"db", "proxy", "data"}


def test_order_puts_dependencies_first_and_reverse_puts_them_last():
    g = graph(web="api", api="db,cache", db="", cache="")
    order = g.order()
    assert order.index("db") < order.index("api") < order.index("web")
    assert order.index("cache") < order.index("api")
    reverse = g.order(reverse=True)
    assert reverse.index("web") < reverse.index("api") < reverse.index("db")


def test_dependencies_outside_the_chosen_services_are_ignored():
    assert Graph.of({"web": {"depends_on": {"db": {}}}, "db": {}}, ["web"]).order() == ["web"]


def test_a_cycle_is_an_error_naming_it():
    with pytest.raises(InvalidArgument) as caught:
        graph(a="b", b="c", c="a")
    assert "dependency cycle detected: a -> b -> c -> a" in str(caught.value)


def test_independent_services_run_together():
    g = graph(a="", b="", c="a,b")
    both_running = threading.Barrier(2, timeout=5)
    started: list[str] = []

    def action(name: str) -> None:
        if name in ("a", "b"):
            both_running.wait()  # deadlocks (BrokenBarrierError) unless a and b overlap
        started.append(name)

    g.walk(action, workers=4)
    assert started[-1] == "c" and set(started) == {"a", "b", "c"}


def test_a_service_waits_for_its_dependencies_to_finish():
    g = graph(web="db", db="")
    events: list[str] = []

    def action(name: str) -> None:
        events.append(f"{name} begins")
        if name == "db":
            time.sleep(0.1)
        events.append(f"{name} ends")

    g.walk(action, workers=4)
    assert events == ["db begins", "db ends", "web begins", "web ends"]


def test_a_failure_stops_what_depends_on_it_and_is_raised():
    g = graph(web="db", db="", other="")
    ran: list[str] = []

    def action(name: str) -> None:
        ran.append(name)
        if name == "db":
            raise RuntimeError("db failed")

    with pytest.raises(RuntimeError, match="db failed"):
        g.walk(action, workers=1)
    assert "web" not in ran


def test_parallel_raises_the_first_error_after_all_finished():
    done: list[int] = []

    def action(item: object) -> None:
        if item == 2:
            raise ValueError("two")
        time.sleep(0.05)
        done.append(item)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="two"):
        parallel([1, 2, 3], action)
    assert sorted(done) == [1, 3]
