"""What pull and push share: the X-Registry-Auth header from config.json, and drawing
Docker's JSON progress stream as per-layer bars (rich, imported only for a terminal) or,
elsewhere, as docker's plain `id: status` lines."""

from __future__ import annotations

from estiba.cli.base import Context
from estiba.errors import EstibaError, NotFound, Unauthorized, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable


def auth_header(name: str) -> dict[str, str]:
    from estiba.distribution.credentials import registry_auth_header, registry_domain

    return {"X-Registry-Auth": registry_auth_header(registry_domain(name))}


def stream_error(message: str) -> EstibaError:
    """The error a progress stream ended with, as the kind its words name."""
    text = message.lower()
    if "unauthorized" in text or "authentication required" in text or "log in" in text:
        return Unauthorized(message)
    if "not found" in text or "unknown" in text:
        return NotFound(message)
    return Unavailable(message)


def show(ctx: Context, messages: Iterable[dict[str, Any]], *, quiet: bool) -> list[dict]:
    """Draw the stream; return its aux documents; raise the error that ends it."""
    bars = None
    aux: list[dict] = []
    isatty = getattr(ctx.stdout, "isatty", None)
    tty = bool(isatty and isatty())
    try:
        for message in messages:
            if message.get("error") or message.get("errorDetail"):
                detail = message.get("errorDetail") or {}
                raise stream_error(detail.get("message") or message.get("error", ""))
            if message.get("aux"):
                aux.append(message["aux"])
                continue
            if quiet:
                continue
            if tty and _is_layer(message.get("id", "")):
                bars = bars or _Bars()
                bars.update(message)
                continue
            line = f"{message['id']}: " if message.get("id") else ""
            line += message.get("status", "")
            if message.get("status") in _PROGRESSING and "progressDetail" in message:
                continue  # without a terminal, docker prints only the state changes
            if bars is not None:
                bars.print(line)
            elif line:
                ctx.out(line)
    finally:
        if bars is not None:
            bars.close()
    return aux


_PROGRESSING = frozenset({"Downloading", "Pushing", "Extracting"})


def _is_layer(text: str) -> bool:
    return len(text) == 12 and all(c in "0123456789abcdef" for c in text)


class _Bars:
    """One rich bar per layer: its id, its state, bytes done of total, speed."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.fields[layer]}"),
            TextColumn("{task.description:<20}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
        )
        self._progress.start()
        self._tasks: dict[str, Any] = {}

    def update(self, message: dict[str, Any]) -> None:
        layer = message["id"]
        task = self._tasks.get(layer)
        if task is None:
            task = self._progress.add_task(message.get("status", ""), layer=layer, total=None)
            self._tasks[layer] = task
        detail = message.get("progressDetail") or {}
        fields: dict[str, Any] = {"description": message.get("status", "")}
        if "current" in detail:
            fields["completed"] = detail["current"]
        if detail.get("total"):
            fields["total"] = detail["total"]
        if message.get("status") in ("Pull complete", "Pushed", "Already exists",
                                     "Layer already exists") or str(
            message.get("status", "")
        ).startswith("Mounted from"):  # fmt: skip
            total = self._progress.tasks[task].total or 1
            fields.update(total=total, completed=total)
        self._progress.update(task, **fields)

    def print(self, text: str) -> None:
        self._progress.console.print(text, highlight=False)

    def close(self) -> None:
        self._progress.stop()
