"""Attach to a container, optionally start it, and report how it ended: the flow that
`run` (attached), `start -a` and `attach` share, in the order docker's CLI uses.

The attach and the wait are registered before the start, so no output and no exit is
missed; the wait's headers arrive as soon as the daemon has registered it.
"""

from __future__ import annotations

import json
import sys

from estiba.cli.base import Context
from estiba.cli.client import quote_ref
from estiba.cli.stdio import Session
from estiba.errors import SystemFault

__all__ = ["attach_container"]


def attach_container(
    ctx: Context, ref: str, *, tty: bool, stdin: bool, start: bool, logs: bool = False
) -> int | None:
    """Stream the container's stdio here until it exits; its exit code, or None when the
    user detached."""
    client = ctx.client
    path = f"/containers/{quote_ref(ref)}"
    connection = client.hijack(
        f"{path}/attach",
        {"stream": True, "stdin": stdin, "stdout": True, "stderr": True, "logs": logs},
    )
    waiting = client.open("POST", f"{path}/wait", {"condition": "next-exit"})
    try:
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
    finally:
        waiting.close()
    error = (result.get("Error") or {}).get("Message")
    if error:
        raise SystemFault(error)
    sys.stdout.flush()
    return int(result.get("StatusCode", 0))
