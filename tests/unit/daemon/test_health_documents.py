"""State.Health in `docker inspect` and the health word in `docker ps`'s STATUS."""

from __future__ import annotations

from estiba.daemon.container_documents import inspect_document, parse_rfc3339_ns, status_text
from estiba.engine.states import State
from estiba.engine.store import ContainerRecord

STARTED = "2024-05-01T10:00:00.000000000Z"
NOW = parse_rfc3339_ns(STARTED) + 3_000_000_000


def container(state: State, health: dict | None) -> ContainerRecord:
    return ContainerRecord(id="ab" * 32, name="web", image_id="sha256:" + "cd" * 32, image_ref="busybox",
                           created=STARTED, config={"Cmd": ["sleep", "9"]}, state=state,
                           started_at=STARTED, health=health)


def health(status: str) -> dict:
    return {"Status": status, "FailingStreak": 0, "Log": []}


def test_ps_status_carries_the_health() -> None:
    assert status_text(container(State.RUNNING, health("starting")), NOW) == "Up 3 seconds (health: starting)"
    assert status_text(container(State.RUNNING, health("healthy")), NOW) == "Up 3 seconds (healthy)"
    assert status_text(container(State.RUNNING, health("unhealthy")), NOW) == "Up 3 seconds (unhealthy)"
    assert status_text(container(State.RUNNING, None), NOW) == "Up 3 seconds"
    assert status_text(container(State.PAUSED, health("healthy")), NOW) == "Up 3 seconds (Paused)"


def test_inspect_shows_health_after_finished_at_only_when_there_is_one() -> None:
    paths = dict(log_path="l", resolv_conf="r", hostname_path="h", hosts_path="o", runtime="estiba")
    state = inspect_document(container(State.EXITED, health("unhealthy")), **paths)["State"]
    assert list(state)[-2:] == ["FinishedAt", "Health"]
    assert state["Health"] == health("unhealthy")
    assert "Health" not in inspect_document(container(State.RUNNING, None), **paths)["State"]
