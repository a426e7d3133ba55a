"""Awaiting the end of a process that is not the daemon's child (a shim), on the event
loop, with no thread and no polling: a pidfd becomes readable when its process exits.

The pid comes from a file, so after opening the pidfd the caller's check that the pid is
still the process it means (a shim, not a recycled pid) decides whether to wait at all;
from then on the pidfd pins that very process.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from estiba.errors import Unavailable
from estiba.shim import statedir

__all__ = ["process_gone", "shim_exit"]


async def process_gone(pid: int, still_ours: Callable[[int], bool]) -> None:
    """Return once `pid` has exited (at once if it is gone or no longer ours)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        if not still_ours(pid):
            return
        loop = asyncio.get_running_loop()
        gone: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not gone.done():
                gone.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await gone
        finally:
            loop.remove_reader(fd)
    finally:
        os.close(fd)


async def shim_exit(state_dir: str) -> dict:
    """The container's exit status once its shim has recorded it and gone (the shim
    writes exit.json, deletes the container in the runtime, then exits)."""
    pid = statedir.read_int(os.path.join(state_dir, statedir.SHIM_PID))
    if pid:
        await process_gone(pid, statedir.shim_running)
    status = statedir.read_json(os.path.join(state_dir, statedir.EXIT_FILE))
    if status is None:
        raise Unavailable(
            f"the shim for {state_dir} died without recording an exit",
            hint=f"see {os.path.join(state_dir, statedir.SHIM_LOG)}",
        )
    return status
