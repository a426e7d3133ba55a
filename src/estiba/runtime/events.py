"""`events` and `ps`: what a container is doing, read from its cgroup."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator

from estiba.errors import Conflict, EstibaError, SystemFault
from estiba.runtime import container
from estiba.runtime.state import DEFAULT_ROOT, STOPPED, StateStore, status_of


def _running_state(container_id: str, root: str):
    store = StateStore(root)
    state = store.load(container_id)
    if status_of(store, state) == STOPPED:
        raise Conflict(f"container {container_id} is not running")
    return store, state


def stats_event(container_id: str, *, root: str = DEFAULT_ROOT) -> dict:
    _, state = _running_state(container_id, root)
    return {"type": "stats", "id": container_id, "data": container.load_manager(state).stats()}


def stream(
    container_id: str,
    *,
    interval: float = 5.0,
    root: str = DEFAULT_ROOT,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict]:
    """Stats every `interval` seconds and an `oom` event at each new OOM kill, until the container stops."""
    store, state = _running_state(container_id, root)
    manager = container.load_manager(state)

    def oom_count() -> int:
        try:
            return manager.oom_kill_count()
        except EstibaError:
            return 0  # no memory controller: no OOM events to report

    seen_ooms = oom_count()
    tick = 0.0
    while status_of(store, state) != STOPPED:
        ooms = oom_count()
        if ooms > seen_ooms:
            seen_ooms = ooms
            yield {"type": "oom", "id": container_id}
        if tick <= 0:
            yield {"type": "stats", "id": container_id, "data": manager.stats()}
            tick = interval
        sleep(0.1)
        tick -= 0.1
    if oom_count() > seen_ooms:
        yield {"type": "oom", "id": container_id}


def pids(container_id: str, *, root: str = DEFAULT_ROOT) -> list[int]:
    _, state = _running_state(container_id, root)
    return sorted(container.load_manager(state).pids())


def ps_table(container_id: str, ps_args: list[str], *, root: str = DEFAULT_ROOT) -> str:
    """`ps` output (default `-ef`) limited to the container's processes, header kept."""
    wanted = set(pids(container_id, root=root))
    try:
        output = subprocess.run(
            ["ps", *(ps_args or ["-ef"])], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemFault(f"running ps: {exc}") from exc
    lines = output.splitlines()
    if not lines:
        return ""
    header = lines[0].split()
    if "PID" not in header:
        raise SystemFault("ps output has no PID column; pass options that keep it")
    column = header.index("PID")
    kept = [lines[0]]
    for line in lines[1:]:
        fields = line.split(None, column + 1)
        if len(fields) > column and fields[column].isdigit() and int(fields[column]) in wanted:
            kept.append(line)
    return "\n".join(kept)


def dumps(event: dict) -> str:
    return json.dumps(event)
