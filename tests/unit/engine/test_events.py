"""The event bus: Docker's JSON shape, filters, replay from the ring buffer, threads, asyncio."""

from __future__ import annotations

import asyncio
import threading

import pytest

from estiba.engine.events import EngineEvent, EventBus, EventFilters, parse_event_time
from estiba.errors import InvalidArgument

CID = "c" * 64
IMG = "sha256:" + "1" * 64


class Clock:
    """A settable clock in nanoseconds."""

    def __init__(self, now: int = 1_700_000_000_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def tick(self, ns: int = 1_000) -> int:
        self.now += ns
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bus(clock: Clock) -> EventBus:
    return EventBus(capacity=8, clock=clock)


def container_event(action: str, **attrs: str) -> EngineEvent:
    attributes = {"image": "busybox:latest", "name": "web"} | attrs
    return EngineEvent("container", action, CID, attributes, 1)


def test_container_events_have_dockers_shape_with_legacy_fields(bus: EventBus) -> None:
    event = bus.publish("container", "start", CID, {"image": "busybox", "name": "web"})
    assert event.to_api() == {
        "status": "start",
        "id": CID,
        "from": "busybox",
        "Type": "container",
        "Action": "start",
        "Actor": {"ID": CID, "Attributes": {"image": "busybox", "name": "web"}},
        "scope": "local",
        "time": 1_700_000_000,
        "timeNano": 1_700_000_000_000_000_000,
    }


def test_image_events_have_status_and_id_but_no_from(bus: EventBus) -> None:
    body = bus.publish("image", "tag", IMG, {"name": "busybox:1"}).to_api()
    assert (body["status"], body["id"]) == ("tag", IMG) and "from" not in body


def test_other_events_have_no_legacy_fields(bus: EventBus) -> None:
    body = bus.publish("network", "create", "n" * 64, {"name": "br0"}).to_api()
    assert not {"status", "id", "from"} & set(body)


@pytest.mark.parametrize(
    ("filters", "event", "included"),
    [
        ({}, container_event("start"), True),
        ({"type": ["container"]}, container_event("start"), True),
        ({"type": ["image"]}, container_event("start"), False),
        ({"event": ["start", "die"]}, container_event("die"), True),
        ({"event": ["stop"]}, container_event("start"), False),
        ({"event": ["exec_start"]}, container_event("exec_start: sh -c true"), True),
        ({"event": ["exec_start: sh"]}, container_event("exec_start: sh -c true"), False),
        ({"event": ["health_status"]}, container_event("health_status: healthy"), True),
        ({"container": ["web"]}, container_event("start"), True),
        ({"container": ["we"]}, container_event("start"), True),
        ({"container": ["ccc"]}, container_event("start"), True),
        ({"container": ["db"]}, container_event("start"), False),
        ({"container": ["web"]}, EngineEvent("image", "pull", IMG, {"name": "web"}, 1), False),
        ({"image": ["busybox"]}, container_event("start"), True),
        ({"image": ["busybox:latest"]}, container_event("start"), True),
        ({"image": ["busybox:1"]}, container_event("start"), False),
        ({"image": ["debian"]}, container_event("start"), False),
        ({"image": ["busybox"]}, container_event("start", image="docker.io/library/bb:1"), False),
        ({"image": ["bb"]}, container_event("start", image="docker.io/library/bb:1"), True),
        ({"image": [IMG]}, EngineEvent("image", "tag", IMG, {"name": "x:1"}, 1), True),
        ({"image": ["x"]}, EngineEvent("image", "tag", IMG, {"name": "x:1"}, 1), True),
        ({"image": ["busybox"]}, EngineEvent("network", "create", "n", {"name": "b"}, 1), False),
        ({"label": ["tier"]}, container_event("start", tier="front"), True),
        ({"label": ["tier=front"]}, container_event("start", tier="front"), True),
        ({"label": ["tier=back"]}, container_event("start", tier="front"), False),
        ({"label": ["tier", "env=prod"]}, container_event("start", tier="front"), False),
        (
            {"type": ["container"], "event": ["die"], "container": ["web"]},
            container_event("die"),
            True,
        ),
        ({"type": {"container": True}}, container_event("die"), True),
        ({"scope": ["swarm"]}, container_event("die"), False),
    ],
)
def test_filters(filters: dict, event: EngineEvent, included: bool) -> None:
    assert EventFilters.from_api(filters).include(event) is included


def test_unknown_filter_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        EventFilters.from_api({"colour": ["red"]})


def test_subscribers_get_new_matching_events(bus: EventBus, clock: Clock) -> None:
    with bus.subscribe(EventFilters.from_api({"event": ["die"]})) as sub:
        bus.publish("container", "start", CID)
        clock.tick()
        bus.publish("container", "die", CID, {"exitCode": "0"})
        event = sub.get(timeout=1)
        assert event is not None and event.action == "die"
        assert sub.get(timeout=0.01) is None


def test_without_since_nothing_is_replayed(bus: EventBus) -> None:
    bus.publish("container", "create", CID)
    with bus.subscribe() as sub:
        assert sub.get(timeout=0) is None


def test_since_replays_from_the_ring_buffer(bus: EventBus, clock: Clock) -> None:
    times = []
    for i in range(12):  # capacity 8: the first four are gone
        times.append(clock.tick())
        bus.publish("container", f"a{i}", CID)
    with bus.subscribe(since=0) as sub:
        replayed = [sub.get(timeout=0) for _ in range(8)]
        assert [e.action for e in replayed] == [f"a{i}" for i in range(4, 12)]
    with bus.subscribe(since=times[9]) as sub:  # inclusive
        assert [sub.get(timeout=0).action for _ in range(2)] == ["a9", "a10"]


def test_until_bounds_replay_and_ends_the_stream(bus: EventBus, clock: Clock) -> None:
    times = []
    for i in range(4):
        times.append(clock.tick())
        bus.publish("container", f"a{i}", CID)
    sub = bus.subscribe(since=times[1], until=times[2])
    assert [e.action for e in sub] == ["a1", "a2"]  # the iteration ends by itself
    assert sub.ended


def test_a_future_until_stops_following_when_it_passes(bus: EventBus, clock: Clock) -> None:
    sub = bus.subscribe(until=clock.now + 10_000)
    clock.tick(5_000)
    bus.publish("container", "start", CID)
    clock.tick(10_000)
    bus.publish("container", "die", CID)  # after until: not delivered
    assert [e.action for e in sub] == ["start"]


def test_close_ends_a_blocked_reader(bus: EventBus) -> None:
    sub = bus.subscribe()
    got: list[EngineEvent] = []
    reader = threading.Thread(target=lambda: got.extend(sub))
    reader.start()
    bus.publish("container", "start", CID)
    sub.close()
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert [e.action for e in got] == ["start"]


def test_publishing_from_many_threads_loses_nothing(bus: EventBus) -> None:
    sub = bus.subscribe()

    def burst(n: int) -> None:
        for i in range(50):
            bus.publish("container", f"t{n}-{i}", CID)

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sub.close()
    assert len(list(sub)) == 200


def test_async_iteration_with_events_from_another_thread(bus: EventBus) -> None:
    async def main() -> list[str]:
        sub = bus.subscribe(EventFilters.from_api({"type": ["container"]}))

        def produce() -> None:
            bus.publish("image", "pull", IMG)
            bus.publish("container", "start", CID)
            bus.publish("container", "die", CID)
            sub.close()

        threading.Timer(0.05, produce).start()
        return [e.action async for e in sub]

    assert asyncio.run(asyncio.wait_for(main(), 5)) == ["start", "die"]


def test_async_iteration_ends_at_until() -> None:
    bus = EventBus()  # the real clock

    async def main() -> list[str]:
        import time

        sub = bus.subscribe(until=time.time_ns() + 50_000_000)
        bus.publish("container", "start", CID)
        return [e.action async for e in sub]

    assert asyncio.run(asyncio.wait_for(main(), 5)) == ["start"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1700000000", 1_700_000_000_000_000_000),
        ("1700000000.5", 1_700_000_000_500_000_000),
        ("1700000000.000000001", 1_700_000_000_000_000_001),
        ("2023-11-14T22:13:20Z", 1_700_000_000_000_000_000),
        ("2023-11-14T22:13:20.25+00:00", 1_700_000_000_250_000_000),
        ("10m", 1_700_000_000_000_000_000 - 600_000_000_000),
        ("1h30m", 1_700_000_000_000_000_000 - 5_400_000_000_000),
        ("1.5s", 1_700_000_000_000_000_000 - 1_500_000_000),
    ],
)
def test_parse_event_time(value: str, expected: int) -> None:
    assert parse_event_time(value, now_ns=1_700_000_000_000_000_000) == expected


def test_parse_event_time_rejects_garbage() -> None:
    with pytest.raises(InvalidArgument):
        parse_event_time("yesterday")


def test_since_after_until_is_invalid(bus: EventBus) -> None:
    with pytest.raises(InvalidArgument, match="cannot be after"):
        bus.subscribe(since=10, until=5)
