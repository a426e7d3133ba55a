"""Docker's JSON progress messages for pulls and pushes, so that the docker CLI draws its
per-layer bars: one message per layer state change, `Downloading`/`Pushing` with
progressDetail (current, total), at most one every `interval` seconds per layer."""

from __future__ import annotations

import time
from collections.abc import Callable

from estiba.api.types import Progress

Emit = Callable[[Progress], None]


def short(digest: str) -> str:
    """The 12 hex digits docker shows for a layer."""
    return digest.split(":", 1)[-1][:12]


def status(text: str, layer: str = "") -> Progress:
    return Progress(status=text, id=short(layer) if layer.startswith("sha256:") else layer)


def bar(current: int, total: int, width: int = 50) -> str:
    """Docker's `[=====>     ]  1.2MB/3.4MB` text, for clients that print `progress`."""
    if total <= 0:
        return f"{_human(current)}"
    filled = min(width, int(width * current / total))
    arrow = "=" * max(filled - 1, 0) + (">" if filled < width else "=")
    return f"[{arrow.ljust(width)}] {_human(current):>8}/{_human(total)}"


class LayerProgress:
    """Throttled `Downloading`/`Pushing`/`Extracting` messages for one layer."""

    def __init__(
        self,
        emit: Emit,
        digest: str,
        total: int,
        action: str,
        *,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.emit = emit
        self.id = short(digest)
        self.total = total
        self.action = action
        self.interval = interval
        self.clock = clock
        self._last = float("-inf")

    def update(self, current: int, *, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last < self.interval and current < self.total:
            return
        self._last = now
        self.emit(
            Progress(
                status=self.action,
                id=self.id,
                current=current,
                total=self.total,
                progress=bar(current, self.total),
            )
        )


def _human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.4g}{unit}" if unit != "B" else f"{int(size)}B"
        size /= 1000
    return f"{size}B"
