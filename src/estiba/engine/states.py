"""The container state machine: Docker's states, the events that move between them, as a table.

`transition(current, event, container_id=..., name=...)` returns the next state (None once
the container is gone) or raises what dockerd answers for the same request, with its
message: Conflict (409) for a request the state forbids, NotModified (304) for a start of
a running container or a stop of a stopped one.

Events are the engine's requests and observations, named after Docker's event actions
where one exists:

    create            (nothing) -> created
    start             created | exited -> running
    restart           created | running | paused | restarting | exited -> running
                      (also how a restart policy brings a restarting container back)
    stop, kill        running | paused -> unchanged (the die that follows moves on);
                      restarting -> exited (the pending restart is cancelled)
    pause / unpause   running <-> paused
    die               running | paused -> exited; restarting -> exited (the restart failed)
    schedule_restart  exited -> restarting (a restart policy will start it again)
    remove            created | exited | dead -> removing
    remove_failed     removing -> dead
    destroy           removing -> (gone)

A forced remove is kill, die, remove, destroy: the engine walks it one event at a time.
"""

from __future__ import annotations

from enum import StrEnum

from estiba.errors import Conflict, InvalidArgument, NotModified

__all__ = ["Event", "State", "TRANSITIONS", "is_running", "transition"]


class State(StrEnum):
    """A container's Status, as `docker inspect` shows it."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    REMOVING = "removing"
    EXITED = "exited"
    DEAD = "dead"


class Event(StrEnum):
    """What happens to a container: a request of a client or an observation of the shim."""

    CREATE = "create"
    START = "start"
    RESTART = "restart"
    STOP = "stop"
    KILL = "kill"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    DIE = "die"
    SCHEDULE_RESTART = "schedule_restart"
    REMOVE = "remove"
    REMOVE_FAILED = "remove_failed"
    DESTROY = "destroy"


S = State
E = Event

# (event, state before or None for a new container) -> state after, None meaning gone.
TRANSITIONS: dict[tuple[Event, State | None], State | None] = {
    (E.CREATE, None): S.CREATED,
    (E.START, S.CREATED): S.RUNNING,
    (E.START, S.EXITED): S.RUNNING,
    (E.RESTART, S.CREATED): S.RUNNING,
    (E.RESTART, S.RUNNING): S.RUNNING,
    (E.RESTART, S.PAUSED): S.RUNNING,
    (E.RESTART, S.RESTARTING): S.RUNNING,
    (E.RESTART, S.EXITED): S.RUNNING,
    (E.STOP, S.RUNNING): S.RUNNING,
    (E.STOP, S.PAUSED): S.PAUSED,
    (E.STOP, S.RESTARTING): S.EXITED,
    (E.KILL, S.RUNNING): S.RUNNING,
    (E.KILL, S.PAUSED): S.PAUSED,
    (E.KILL, S.RESTARTING): S.EXITED,
    (E.PAUSE, S.RUNNING): S.PAUSED,
    (E.UNPAUSE, S.PAUSED): S.RUNNING,
    (E.DIE, S.RUNNING): S.EXITED,
    (E.DIE, S.PAUSED): S.EXITED,
    (E.DIE, S.RESTARTING): S.EXITED,
    (E.SCHEDULE_RESTART, S.EXITED): S.RESTARTING,
    (E.REMOVE, S.CREATED): S.REMOVING,
    (E.REMOVE, S.EXITED): S.REMOVING,
    (E.REMOVE, S.DEAD): S.REMOVING,
    (E.REMOVE_FAILED, S.REMOVING): S.DEAD,
    (E.DESTROY, S.REMOVING): None,
}

# dockerd's IsRunning(): a paused or restarting container still counts as running.
_RUNNING = frozenset({S.RUNNING, S.PAUSED, S.RESTARTING})


def is_running(state: State) -> bool:
    """True where dockerd's State.Running is true (running, paused, restarting)."""
    return state in _RUNNING


def transition(
    current: State | str | None,
    event: Event | str,
    *,
    container_id: str = "",
    name: str = "",
) -> State | None:
    """The state after `event`, or Docker's error for it; `name` is shown as "/name"."""
    try:
        event = Event(event)
        current = None if current is None else State(current)
    except ValueError as exc:
        raise InvalidArgument(f"unknown container state or event: {exc}") from exc
    key = (event, current)
    if key in TRANSITIONS:
        return TRANSITIONS[key]
    raise _refusal(current, event, container_id, name)


def _refusal(
    current: State | None, event: Event, container_id: str, name: str
) -> Conflict | NotModified:
    """dockerd's answer to an event the table does not allow from `current`."""
    if current is None:
        return Conflict(f"No such container: {container_id}")
    marked = current in (S.REMOVING, S.DEAD)
    if event is E.CREATE:
        return Conflict(f"container {container_id} already exists")
    if event in (E.START, E.RESTART):
        if current is S.PAUSED:
            return Conflict("cannot start a paused container, try unpause instead")
        if marked:
            return Conflict("container is marked for removal and cannot be started")
        return NotModified(f"container {container_id} is already started")
    if event is E.STOP:
        return NotModified(f"container {container_id} is already stopped")
    if event is E.PAUSE:
        if current is S.PAUSED:
            return Conflict(f"Container {container_id} is already paused")
        if current is S.RESTARTING:
            return Conflict(
                f"Container {container_id} is restarting, wait until the container is running"
            )
        return Conflict(f"Container {container_id} is not running")
    if event is E.UNPAUSE:
        return Conflict(f"Container {container_id} is not paused")
    if event is E.REMOVE:
        if current is S.REMOVING:
            return Conflict(f"removal of container {container_id} is already in progress")
        procedure = "stop the container before removing or force remove"
        if current is S.PAUSED:
            procedure = "unpause and then " + procedure
        return Conflict(
            f'cannot remove container "/{name or container_id}": '
            f"container is {current.value}: {procedure}"
        )
    if event in (E.KILL, E.DIE):
        return Conflict(f"Container {container_id} is not running")
    return Conflict(f"Container {container_id} cannot {event.value} while {current.value}")
