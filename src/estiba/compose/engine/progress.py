"""Progress lines as docker compose v2 prints them in plain mode, on stderr:
` Network p_default  Created`, ` Container p-web-1  Started`, ` Volume "p_data"  Created`.

Threads of the graph walk write at once; each line is written whole under a lock.
"""

from __future__ import annotations

import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

__all__ = ["Progress"]


class Progress:
    def __init__(self, stream: IO[str] | None, *, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet or stream is None
        self._lock = threading.Lock()

    def event(self, kind: str, name: str, text: str) -> None:
        """One object's step: kind is Container, Network, Volume, Image or a service."""
        label = f"{kind} {name}" if kind else name
        self.line(f" {label}  {text}")

    def container(self, name: str, text: str) -> None:
        self.event("Container", name, text)

    def warn(self, message: str) -> None:
        self.write(f"WARN[0000] {message}\n", always=True)

    def line(self, text: str) -> None:
        self.write(text + "\n")

    def write(self, text: str, *, always: bool = False) -> None:
        if self.stream is None or (self.quiet and not always):
            return
        with self._lock:
            self.stream.write(text)
            self.stream.flush()
