"""State.Health in the container store: the column (and its migration), and `ps --filter health=`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from estiba.engine.states import Event
from estiba.engine.store import ContainerStore, ListFilters, rfc3339_now
from estiba.errors import InvalidArgument
from tests.unit.engine.test_store import record, started

HEALTHY = {"Status": "healthy", "FailingStreak": 0,
           "Log": [{"Start": "a", "End": "b", "ExitCode": 0, "Output": "ok\n"}]}


@pytest.fixture
def store(tmp_path: Path) -> ContainerStore:
    s = ContainerStore(tmp_path / "containers.db")
    yield s
    s.close()


def test_health_is_stored_and_read_back(store: ContainerStore, tmp_path: Path) -> None:
    added = store.add(record("web"))
    assert added.health is None and store.get("web").health is None
    store.update_state("web", Event.START, started_at=rfc3339_now(), health=HEALTHY)
    store.close()
    reopened = ContainerStore(tmp_path / "containers.db")
    assert reopened.get(added.id).health == HEALTHY
    reopened.close()


def test_a_database_from_before_health_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = ContainerStore(path)
    added = store.add(record("old"))
    store.close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE containers DROP COLUMN health")
    db.commit()
    db.close()
    store = ContainerStore(path)
    assert store.get(added.id).health is None
    store.update_state(added.id, None, health=HEALTHY)
    assert store.get(added.id).health == HEALTHY
    store.close()


def test_the_health_filter(store: ContainerStore) -> None:
    started(store, "checked", health=HEALTHY)
    started(store, "starting", health={"Status": "starting", "FailingStreak": 0, "Log": []})
    started(store, "plain")

    def names(*values: str) -> list[str]:
        return sorted(r.name for r in store.list(ListFilters.from_api({"health": list(values)})))

    assert names("healthy") == ["checked"]
    assert names("starting", "healthy") == ["checked", "starting"]
    assert names("none") == ["plain"]
    assert names("unhealthy") == []
    with pytest.raises(InvalidArgument, match="Unrecognised filter value for health: sick"):
        ListFilters.from_api({"health": ["sick"]})
