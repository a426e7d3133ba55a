"""The control protocol: one JSON request line to `control.sock`, one JSON answer line.

    {"op": "start"}                                  start a container created with start=False
    {"op": "state"}                                  {"status": "created|running|exited", "pid": N}
    {"op": "resize", "rows": 24, "cols": 80, "exec_id": ""}
    {"op": "kill", "signal": 15, "all": false, "exec_id": ""}
    {"op": "close_stdin", "exec_id": ""}
    {"op": "exec", "exec_id": "x", "process": {OCI process}, "open_stdin": bool,
     "stdin_once": bool, "attach": {"stdin": bool, "stdout": bool, "stderr": bool} | null}

An answer is `{"ok": true, ...}` or `{"ok": false, "kind": "<estiba.errors kind>", "error":
"..."}`. After the answer to an `exec` with `attach`, the connection carries that process's
stream exactly as an attach connection does.
"""

from __future__ import annotations

import json
from typing import Any

from estiba import errors
from estiba.errors import EstibaError, InvalidArgument

_ARGS: dict[str, dict[str, type]] = {
    "start": {},
    "state": {},
    "resize": {"rows": int, "cols": int, "exec_id": str},
    "kill": {"signal": int, "all": bool, "exec_id": str},
    "close_stdin": {"exec_id": str},
    "exec": {"exec_id": str, "process": dict, "open_stdin": bool, "stdin_once": bool, "attach": dict},
}
_REQUIRED = {"resize": ("rows", "cols"), "kill": ("signal",), "exec": ("exec_id", "process")}


def encode_request(op: str, **args: Any) -> bytes:
    return json.dumps({"op": op, **{k: v for k, v in args.items() if v is not None}}).encode() + b"\n"


def decode_request(line: bytes) -> tuple[str, dict[str, Any]]:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise InvalidArgument(f"control request: invalid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("op") not in _ARGS:
        raise InvalidArgument(f"control request: unknown op, expected one of {', '.join(_ARGS)}")
    op = data.pop("op")
    allowed = _ARGS[op]
    for name, value in data.items():
        expected = allowed.get(name)
        if expected is None:
            raise InvalidArgument(f"control request {op}: unknown field {name!r}")
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise InvalidArgument(f"control request {op}: {name} must be a {expected.__name__}")
    for name in _REQUIRED.get(op, ()):
        if name not in data:
            raise InvalidArgument(f"control request {op}: {name} is required")
    return op, data


def encode_answer(result: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"ok": True, **(result or {})}).encode() + b"\n"


def encode_error(exc: BaseException) -> bytes:
    kind = type(exc).__name__ if isinstance(exc, EstibaError) else "SystemFault"
    message = exc.message if isinstance(exc, EstibaError) else str(exc) or type(exc).__name__
    hint = exc.hint if isinstance(exc, EstibaError) else None
    return json.dumps({"ok": False, "kind": kind, "error": message, "hint": hint}).encode() + b"\n"


def decode_answer(line: bytes) -> dict[str, Any]:
    """The answer's fields; a failure is raised again as its estiba.errors kind."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise errors.SystemFault(f"shim answered with invalid JSON: {exc}") from exc
    if data.get("ok"):
        data.pop("ok")
        return data
    kind = getattr(errors, str(data.get("kind")), None)
    if not (isinstance(kind, type) and issubclass(kind, EstibaError)):
        kind = errors.SystemFault
    raise kind(str(data.get("error", "shim request failed")), hint=data.get("hint"))
