"""Attach to a container, optionally start it, and report how it ended: the flow that
`run` (attached), `start -a` and `attach` share, in the order docker's CLI uses.

The attach and the wait are registered before the start, so no output and no exit is
missed; the wait's headers arrive as soon as the daemon has registered it. Without a
TTY, signals this process gets are passed on to the container, as docker's --sig-proxy.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator

from estiba.cli.base import Context
from estiba.cli.client import quote_ref
from estiba.cli.stdio import Session
from estiba.errors import EstibaError, SystemFault

TYPE_CHECKING = False  # typing costs the CLI milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = ["attach_container"]


_PROXIED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


@contextlib.contextmanager
def _proxying_signals(client: Any, path: str, *, enabled: bool) -> Iterator[None]:
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(EstibaError):
            client.post(f"{path}/kill", signal=signal.Signals(signum).name)

    previous = {name: signal.signal(getattr(signal, name), forward) for name in _PROXIED}
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


def attach_container(
    ctx: Context, ref: str, *, tty: bool, stdin: bool, start: bool, logs: bool = False,
    auto_remove: bool = False,
) -> int | None:
    """Stream the container's stdio here until it exits; its exit code, or None when the
    user detached. With `auto_remove` (run --rm) it returns once the container is gone,
    as docker's does, so that its name is free again."""
    client = ctx.client
    path = f"/containers/{quote_ref(ref)}"
    connection = client.hijack(
        f"{path}/attach",
        {"stream": True, "stdin": stdin, "stdout": True, "stderr": True, "logs": logs},
    )
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(connection.close)
        condition = "removed" if auto_remove else "next-exit"
        waiting = client.open("POST", f"{path}/wait", {"condition": condition})
        cleanup.callback(waiting.close)
        # Without a TTY, Ctrl-C and friends go to the container (docker's --sig-proxy);
        # the handlers are in place before the container starts.
        cleanup.enter_context(_proxying_signals(client, path, enabled=not tty))
        if start:
            client.post(f"{path}/start")
        session = Session(
            connection,
            tty=tty,
            stdin=stdin,
            resize=lambda h, w: client.post(f"{path}/resize", h=h, w=w),
        )
        if session.run():
            return None
        result = json.loads(waiting.read() or b"{}")
    error = (result.get("Error") or {}).get("Message")
    if error:
        raise SystemFault(error)
    sys.stdout.flush()
    return int(result.get("StatusCode", 0))
