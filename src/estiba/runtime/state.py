"""Where the runtime keeps each container between commands: `<root>/<id>/state.json`.

The file is written to a temporary name, fsynced and renamed, so another process reading
it sees the old or the new state, never half. A container's status is not stored but
observed: its init process alive or not (checked against its recorded start time, so a
recycled pid is not mistaken for it), its exec fifo present or not, its cgroup frozen or not.
"""

from __future__ import annotations

import json
import os
import re
from typing import NamedTuple

from estiba.errors import Conflict, InvalidArgument, NotFound
from estiba.fsutil import atomic_write

DEFAULT_ROOT = "/run/estiba-runtime"
STATE_FILE = "state.json"
EXEC_FIFO = "exec.fifo"

_VALID_ID = re.compile(r"^[\w+.-]+$")

CREATED, RUNNING, STOPPED, PAUSED = "created", "running", "stopped", "paused"


def validate_id(container_id: str) -> None:
    if not container_id or container_id in (".", "..") or not _VALID_ID.match(container_id):
        raise InvalidArgument(
            f'invalid container id "{container_id}"', hint="use letters, digits, and + - . _"
        )


class ContainerState(NamedTuple):
    id: str
    pid: int
    bundle: str
    rootfs: str
    created: str
    init_start_time: int
    cgroup_paths: dict[str, str]
    cgroup_mode: str
    config: dict
    annotations: dict[str, str] = {}  # never mutated: replaced whole
    owner: str = ""
    oci_version: str = "1.0.2"

    def to_json(self) -> dict:
        return self._asdict()

    @classmethod
    def from_json(cls, data: dict) -> "ContainerState":
        return cls(**data)


class StateStore:
    """The runtime's state directory (`--root`)."""

    def __init__(self, root: str = DEFAULT_ROOT) -> None:
        self.root = os.path.abspath(root)

    def dir_of(self, container_id: str) -> str:
        validate_id(container_id)
        return os.path.join(self.root, container_id)

    def make_dir(self, container_id: str) -> str:
        """Claim the container's directory; a second claim of the same id is a Conflict."""
        os.makedirs(self.root, mode=0o711, exist_ok=True)
        path = self.dir_of(container_id)
        try:
            os.mkdir(path, 0o711)
        except FileExistsError as exc:
            raise Conflict(f'container with id "{container_id}" already exists') from exc
        return path

    def save(self, state: ContainerState) -> None:
        path = os.path.join(self.dir_of(state.id), STATE_FILE)
        # Runtime state lives in /run and describes processes: no fsync (as runc).
        atomic_write(path, json.dumps(state.to_json()).encode(), 0o600, durable=False)

    def load(self, container_id: str) -> ContainerState:
        path = os.path.join(self.dir_of(container_id), STATE_FILE)
        try:
            with open(path, "rb") as handle:
                return ContainerState.from_json(json.loads(handle.read()))
        except FileNotFoundError as exc:
            raise NotFound(f'container "{container_id}" does not exist') from exc
        except (ValueError, TypeError) as exc:
            raise InvalidArgument(f"container {container_id}: state file is damaged: {exc}") from exc

    def ids(self) -> list[str]:
        try:
            names = sorted(os.listdir(self.root))
        except FileNotFoundError:
            return []
        return [n for n in names if os.path.exists(os.path.join(self.root, n, STATE_FILE))]

    def remove(self, container_id: str) -> None:
        path = self.dir_of(container_id)
        for name in (STATE_FILE, EXEC_FIFO):
            try:
                os.unlink(os.path.join(path, name))
            except FileNotFoundError:
                pass
        for name in os.listdir(path) if os.path.isdir(path) else ():
            os.unlink(os.path.join(path, name))
        try:
            os.rmdir(path)
        except FileNotFoundError:
            pass


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat; None when the process is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def is_alive(state: ContainerState) -> bool:
    return process_start_time(state.pid) == state.init_start_time


def status_of(store: StateStore, state: ContainerState, frozen=None) -> str:
    if not is_alive(state):
        return STOPPED
    if os.path.exists(os.path.join(store.dir_of(state.id), EXEC_FIFO)):
        return CREATED
    if frozen is not None and frozen():
        return PAUSED
    return RUNNING
