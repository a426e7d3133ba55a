"""The container state machine: every (event, state) pair, and dockerd's messages."""

from __future__ import annotations

import pytest

from estiba.engine.states import TRANSITIONS, Event, State, is_running, transition
from estiba.errors import Conflict, InvalidArgument, NotModified

ID = "c0ffee" + "0" * 58
C, R, P, RS, RM, X, D = (
    State.CREATED,
    State.RUNNING,
    State.PAUSED,
    State.RESTARTING,
    State.REMOVING,
    State.EXITED,
    State.DEAD,
)
RUNNING_REMOVE = (
    'cannot remove container "/web": container is {}: '
    "stop the container before removing or force remove"
)
MARKED = "container is marked for removal and cannot be started"

# event -> {state: expected}; expected is a State, None (gone), or (error kind, message).
EXPECTED = {
    Event.START: {
        C: R,
        X: R,
        R: (NotModified, f"container {ID} is already started"),
        RS: (NotModified, f"container {ID} is already started"),
        P: (Conflict, "cannot start a paused container, try unpause instead"),
        RM: (Conflict, MARKED),
        D: (Conflict, MARKED),
    },
    Event.RESTART: {
        C: R, R: R, P: R, RS: R, X: R, RM: (Conflict, MARKED), D: (Conflict, MARKED),
    },
    Event.STOP: {
        R: R,
        P: P,
        RS: X,
        C: (NotModified, f"container {ID} is already stopped"),
        X: (NotModified, f"container {ID} is already stopped"),
        RM: (NotModified, f"container {ID} is already stopped"),
        D: (NotModified, f"container {ID} is already stopped"),
    },
    Event.KILL: {
        R: R,
        P: P,
        RS: X,
        **{s: (Conflict, f"Container {ID} is not running") for s in (C, X, RM, D)},
    },
    Event.PAUSE: {
        R: P,
        P: (Conflict, f"Container {ID} is already paused"),
        RS: (Conflict, f"Container {ID} is restarting, wait until the container is running"),
        **{s: (Conflict, f"Container {ID} is not running") for s in (C, X, RM, D)},
    },
    Event.UNPAUSE: {
        P: R,
        **{s: (Conflict, f"Container {ID} is not paused") for s in (C, R, RS, X, RM, D)},
    },
    Event.DIE: {
        R: X,
        P: X,
        RS: X,  # a restart policy's start failed
        **{s: (Conflict, f"Container {ID} is not running") for s in (C, X, RM, D)},
    },
    Event.SCHEDULE_RESTART: {
        X: RS,
        **{
            s: (Conflict, f"Container {ID} cannot schedule_restart while {s.value}")
            for s in (C, R, P, RS, RM, D)
        },
    },
    Event.REMOVE: {
        C: RM,
        X: RM,
        D: RM,
        R: (Conflict, RUNNING_REMOVE.format("running")),
        RS: (Conflict, RUNNING_REMOVE.format("restarting")),
        P: (
            Conflict,
            'cannot remove container "/web": container is paused: '
            "unpause and then stop the container before removing or force remove",
        ),
        RM: (Conflict, f"removal of container {ID} is already in progress"),
    },
    Event.REMOVE_FAILED: {
        RM: D,
        **{
            s: (Conflict, f"Container {ID} cannot remove_failed while {s.value}")
            for s in (C, R, P, RS, X, D)
        },
    },
    Event.DESTROY: {
        RM: None,
        **{
            s: (Conflict, f"Container {ID} cannot destroy while {s.value}")
            for s in (C, R, P, RS, X, D)
        },
    },
    Event.CREATE: {
        None: C,
        **{s: (Conflict, f"container {ID} already exists") for s in State},
    },
}

CASES = [
    pytest.param(event, state, expected, id=f"{event.value}-from-{state}")
    for event, row in EXPECTED.items()
    for state, expected in row.items()
]


def test_every_event_and_state_is_covered() -> None:
    for event in Event:
        states = set(EXPECTED[event])
        assert set(State) <= states, event


def test_the_table_is_what_the_cases_allow() -> None:
    allowed = {
        (event, state): expected
        for event, row in EXPECTED.items()
        for state, expected in row.items()
        if not isinstance(expected, tuple)
    }
    assert allowed == TRANSITIONS


@pytest.mark.parametrize(("event", "state", "expected"), CASES)
def test_transition(event: Event, state: State | None, expected: object) -> None:
    if isinstance(expected, tuple):
        kind, message = expected
        with pytest.raises(kind) as caught:
            transition(state, event, container_id=ID, name="web")
        assert type(caught.value) is kind
        assert caught.value.message == message
    else:
        assert transition(state, event, container_id=ID, name="web") == expected


def test_strings_are_accepted() -> None:
    assert transition("created", "start") is State.RUNNING


def test_unknown_state_or_event_is_invalid() -> None:
    with pytest.raises(InvalidArgument):
        transition("sleeping", "start")
    with pytest.raises(InvalidArgument):
        transition("created", "teleport")


def test_remove_message_falls_back_to_the_id_without_a_name() -> None:
    with pytest.raises(Conflict, match=f'"/{ID}": container is running'):
        transition(State.RUNNING, Event.REMOVE, container_id=ID)


@pytest.mark.parametrize("state", list(State))
def test_is_running_is_dockerds_running_flag(state: State) -> None:
    assert is_running(state) == (state in (R, P, RS))
