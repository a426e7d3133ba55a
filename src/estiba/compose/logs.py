"""Several containers' logs as one stream of prefixed, coloured lines, as compose v2 prints
them (cmd/formatter/logs.go, colors.go): `web-1  | line`, names padded to the longest
plus one, a colour per container cycling through compose's rainbow.

A LogPrinter follows each container in a thread of its own (GET /containers/{id}/logs,
demuxing the 8-byte frames, or the raw stream of a TTY container); `add` takes a
container at any time (for `up`, when one is recreated after the printer began), `wait`
returns when every stream has ended or `stop` is set, `wait_for` when one container's has.
`reserve` makes names known before their containers exist, so that prefixes are padded to
the longest from the first line (compose pads to its project's longest container name).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, TextIO

from estiba.cli.client import STDERR, demux, quote_ref
from estiba.compose import labels as L
from estiba.errors import EstibaError

__all__ = ["LogPrinter", "display_name", "follow_logs", "use_colour"]

# compose's rainbow: cyan, yellow, green, magenta, blue, then their intense versions.
RAINBOW = ("36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1")


def use_colour(ansi: str, no_color: bool, stream: Any) -> bool:
    """--ansi always/never/auto (auto: only when the output is a terminal); --no-color wins."""
    if no_color or ansi == "never":
        return False
    if ansi == "always":
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def display_name(container: dict) -> str:
    """`web-1` for `<project>-web-1`; a custom container_name as it is (compose's rule)."""
    names = container.get("Names") or [container.get("Name", "")]
    name = names[0].lstrip("/")
    labels = container.get("Labels") or (container.get("Config") or {}).get("Labels") or {}
    project = labels.get(L.PROJECT, "")
    default = L.container_name(project, labels.get(L.SERVICE, ""), labels.get(L.CONTAINER_NUMBER, ""))
    if project and name == default:
        return name[len(project) + 1:]
    return name


class LogPrinter:
    """Prefixed lines from many containers, one writer at a time."""

    def __init__(
        self,
        client: Any,
        *,
        out: TextIO,
        err: TextIO | None = None,
        follow: bool = True,
        tail: str = "all",
        timestamps: bool = False,
        colour: bool = True,
        prefix: bool = True,
        since: str | None = None,
        until: str | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.client = client
        self.out = out
        self.err = err or out
        self.params = {"stdout": True, "stderr": True, "follow": follow, "tail": tail,
                       "timestamps": timestamps, "since": since, "until": until}
        self.colour = colour
        self.prefix = prefix
        self.stop = stop or threading.Event()
        self._lock = threading.Lock()
        self._colours: dict[str, str] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._live: set[str] = set()  # containers whose stream is being read
        self._ended_at: dict[str, float] = {}
        self._responses: set[Any] = set()
        self._changed = threading.Condition(self._lock)

    # --- public -------------------------------------------------------------------------

    def reserve(self, *names: str) -> None:
        """Display names (`web-1`) of containers to come: the prefixes are padded to them,
        and their colours taken in this order, from the first line on."""
        with self._lock:
            for name in names:
                if name not in self._colours:
                    self._colours[name] = RAINBOW[len(self._colours) % len(RAINBOW)]

    def add(self, *containers: dict) -> None:
        """Follow containers (GET /containers/json entries or inspect documents); all their
        names are known before the first line, so the prefixes line up from the start. A
        container already followed is left alone; one whose stream ended (it stopped) is
        followed again from that moment."""
        with self._lock:
            for container in containers:
                name = display_name(container)
                if name not in self._colours:
                    self._colours[name] = RAINBOW[len(self._colours) % len(RAINBOW)]
            for container in containers:
                ident = container.get("Id") or container["ID"]
                thread = self._threads.get(ident)
                if thread is not None and thread.is_alive():
                    continue
                name = display_name(container)
                params = dict(self.params)
                if ident in self._ended_at:
                    params.update(since=f"{self._ended_at[ident]:.9f}", tail="all")
                thread = threading.Thread(target=self._follow, args=(ident, name, params),
                                          name=f"logs-{name}", daemon=True)
                self._threads[ident] = thread
                self._live.add(ident)
                thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Until every stream ended or `stop` is set (then the streams are closed); False
        when `timeout` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while any(t.is_alive() for t in self._threads.values()) and not self.stop.is_set():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(0.2 if left is None else min(left, 0.2))
        if self.stop.is_set():
            self.close()
        return True

    def wait_for(self, ident: str, timeout: float | None = None) -> bool:
        """Until container `ident`'s stream ended (its last lines written) or `stop` is
        set; False when `timeout` passed first. True at once for one never followed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not self.stop.is_set():
                if ident not in self._live:
                    return True
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(0.2 if left is None else min(left, 0.2))
        return True

    def close(self) -> None:
        """End every stream now."""
        self.stop.set()
        with self._lock:
            responses = list(self._responses)
        for response in responses:
            try:
                response.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in list(self._threads.values()):
            thread.join(5)

    # --- the threads --------------------------------------------------------------------

    def _follow(self, ident: str, name: str, params: dict) -> None:
        try:
            self._stream(ident, name, params)
        except (EstibaError, OSError) as exc:
            if not self.stop.is_set():
                self._write(self.err, name, f"error reading logs: {exc}")
        finally:
            with self._lock:
                self._ended_at[ident] = time.time()
                self._live.discard(ident)
                self._changed.notify_all()

    def _stream(self, ident: str, name: str, params: dict) -> None:
        path = f"/containers/{quote_ref(ident)}"
        tty = bool((self.client.get(f"{path}/json").get("Config") or {}).get("Tty"))
        response = self.client.open("GET", f"{path}/logs", {k: v for k, v in params.items() if v is not None})
        with self._lock:
            self._responses.add(response)
        if self.stop.is_set():
            response.close()
        pending = {1: b"", STDERR: b""}
        try:
            chunks = ((1, data) for data in iter(lambda: response.read1(65536), b"")) if tty \
                else demux(response.read)
            for stream, data in chunks:
                *lines, pending[stream] = (pending[stream] + data).split(b"\n")
                for line in lines:
                    self._write(self.err if stream == STDERR else self.out, name, _text(line))
        finally:
            with self._lock:
                self._responses.discard(response)
            response.close()
        for stream, rest in pending.items():
            if rest:
                self._write(self.err if stream == STDERR else self.out, name, _text(rest))

    def _write(self, stream: TextIO, name: str, line: str) -> None:
        with self._lock:
            if self.prefix:
                width = max(len(n) for n in self._colours) + 1
                head = f"{name:<{width}} | "
                if self.colour:
                    head = f"\033[{self._colours[name]}m{head}\033[0m"
                line = head + line
            stream.write(line + "\n")
            stream.flush()


def _text(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", errors="replace")


def follow_logs(client: Any, containers: list[dict], **options: Any) -> None:
    """Print the containers' logs until every stream ends (all stopped, or no -f) or
    `stop` is set; `options` are LogPrinter's (out, err, follow, tail, ...)."""
    printer = LogPrinter(client, **options)
    printer.add(*containers)
    printer.wait()
