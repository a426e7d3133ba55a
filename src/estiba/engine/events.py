"""The engine's event bus: what happens to containers, images, networks, as Docker tells it.

    bus = EventBus()
    bus.publish("container", "start", container_id, {"image": "busybox", "name": "web"})
    with bus.subscribe(EventFilters.from_api({"event": ["die"]}), since=t0) as sub:
        for event in sub: ...          # or: async for event in sub: ...

`publish` may be called from any thread. A subscription first replays the recent events
kept in a bounded ring buffer (dockerd keeps 256) from `since` on, then follows new ones
until `until` (both nanoseconds since the epoch, inclusive, as dockerd) or `close()`;
close every subscription (use `with`), or the bus keeps feeding it.
`EngineEvent.to_api()` is the JSON of GET /events, legacy status/id/from included.
Filters are dockerd's (daemon/events/filter.go): type, event, container, image, label, ...
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from estiba.errors import InvalidArgument

__all__ = ["EngineEvent", "EventBus", "EventFilters", "Subscription", "parse_event_time"]

BUFFER_SIZE = 256  # dockerd's eventsLimit
QUEUE_LIMIT = 4096  # per subscriber; a reader this far behind loses the oldest events

_ACCEPTED = frozenset(
    "config container daemon event image label network node plugin scope secret service"
    " type volume".split()
)
# Event actions carrying arguments ("exec_start: sh -c ...") are matched by prefix.
_FUZZY_ACTIONS = frozenset({"health_status", "exec_create", "exec_start"})


@dataclass(frozen=True)
class EngineEvent:
    """One event; `attributes` are the Actor's (image, name, labels, exitCode, ...)."""

    type: str
    action: str
    actor_id: str
    attributes: Mapping[str, str]
    time_nano: int
    scope: str = "local"

    def to_api(self) -> dict[str, Any]:
        """The JSON object dockerd streams from GET /events."""
        body: dict[str, Any] = {}
        # dockerd fills the deprecated fields for containers and images only.
        if self.type in ("container", "image"):
            body["status"] = self.action
            body["id"] = self.actor_id
        if self.type == "container" and "image" in self.attributes:
            body["from"] = self.attributes["image"]
        body.update(
            Type=self.type,
            Action=self.action,
            Actor={"ID": self.actor_id, "Attributes": dict(self.attributes)},
            scope=self.scope,
            time=self.time_nano // 1_000_000_000,
            timeNano=self.time_nano,
        )
        return body


@dataclass(frozen=True)
class EventFilters:
    """Filters of GET /events: keys are alternatives within, all keys must hold."""

    values: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any] | None) -> EventFilters:
        """Read the `filters` query, new ({k: [v]}) or old ({k: {v: true}}) form."""
        values: dict[str, frozenset[str]] = {}
        for key, given in (raw or {}).items():
            if key not in _ACCEPTED:
                raise InvalidArgument(f"invalid filter '{key}'")
            if isinstance(given, Mapping):
                given = [v for v, on in given.items() if on]
            elif isinstance(given, str):
                given = [given]
            values[key] = frozenset(str(v) for v in given)
        return cls(values)

    def include(self, event: EngineEvent) -> bool:
        attrs = event.attributes
        return (
            self._action(event.action)
            and self._exact("type", event.type)
            and self._exact("scope", event.scope)
            and self._named("container", event, "container")
            and self._named("network", event, "network")
            and self._named("volume", event, "volume")
            and self._named("plugin", event, "plugin")
            and self._named("daemon", event, "daemon")
            and self._named("node", event, "node")
            and self._named("service", event, "service")
            and self._named("secret", event, "secret")
            and self._named("config", event, "config")
            and self._image(event)
            and all(_label_holds(want, attrs) for want in self.values.get("label", ()))
        )

    def _exact(self, key: str, value: str) -> bool:
        wanted = self.values.get(key)
        return wanted is None or value in wanted

    def _fuzzy(self, key: str, value: str) -> bool:
        wanted = self.values.get(key)
        return wanted is None or any(value.startswith(prefix) for prefix in wanted)

    def _action(self, action: str) -> bool:
        if self.values.get("event", frozenset()) & _FUZZY_ACTIONS:
            return self._fuzzy("event", action)
        return self._exact("event", action)

    def _named(self, key: str, event: EngineEvent, event_type: str) -> bool:
        # dockerd's fuzzyMatchName: an id prefix or a name prefix of an event of that type.
        if key not in self.values:
            return True
        if event.type != event_type:
            return False
        return self._fuzzy(key, event.actor_id) or self._fuzzy(
            key, event.attributes.get("name", "")
        )

    def _image(self, event: EngineEvent) -> bool:
        # Image events name the image in "name", container events in "image".
        wanted = self.values.get("image")
        if wanted is None:
            return True
        name = event.attributes.get("name" if event.type == "image" else "image", "")
        candidates = {event.actor_id, name, _strip_tag(event.actor_id), _strip_tag(name)}
        return bool(candidates & wanted)


class Subscription:
    """Events for one reader: the replayed ones, then new ones until `until` or close()."""

    def __init__(
        self, bus: EventBus, filters: EventFilters, replay: list[EngineEvent], until: int | None
    ) -> None:
        self._bus = bus
        self.filters = filters
        self._until = until
        self._queue: deque[EngineEvent] = deque(replay, maxlen=max(QUEUE_LIMIT, len(replay)))
        self._cond = threading.Condition()
        self._closed = False
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop following; readers finish what is queued, then end."""
        self._bus._unsubscribe(self)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            self._wake_async()

    def get(self, timeout: float | None = None) -> EngineEvent | None:
        """The next event, waiting up to `timeout` seconds; None when none came or it ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._queue:
                    return self._queue.popleft()
                if self._ended():
                    return None
                wait = self._remaining()
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    wait = left if wait is None else min(wait, left)
                self._cond.wait(wait)

    @property
    def ended(self) -> bool:
        """True once nothing more will come: closed, or `until` passed, and the queue empty."""
        with self._cond:
            return not self._queue and self._ended()

    def __iter__(self) -> Iterator[EngineEvent]:
        while (event := self.get()) is not None:
            yield event

    def __aiter__(self) -> AsyncIterator[EngineEvent]:
        return self._async_events()

    async def _async_events(self) -> AsyncIterator[EngineEvent]:
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._queue:
                    event = self._queue.popleft()
                elif self._ended():
                    return
                else:
                    event = None
                    waiter: asyncio.Future[None] = loop.create_future()
                    self._async_waiters.append((loop, waiter))
                    remaining = self._remaining()
            if event is not None:
                yield event
                continue
            try:
                await asyncio.wait_for(waiter, remaining)
            except asyncio.TimeoutError:
                pass

    # --- called by the bus ------------------------------------------------------------

    def _deliver(self, event: EngineEvent) -> None:
        if self._until is not None and event.time_nano > self._until:
            return
        with self._cond:
            self._queue.append(event)
            self._cond.notify_all()
            self._wake_async()

    def _ended(self) -> bool:
        return self._closed or (self._until is not None and self._bus.clock() > self._until)

    def _remaining(self) -> float | None:
        if self._until is None:
            return None
        return max(0.0, (self._until - self._bus.clock()) / 1e9) + 0.001

    def _wake_async(self) -> None:
        waiters, self._async_waiters = self._async_waiters, []
        for loop, waiter in waiters:
            try:
                loop.call_soon_threadsafe(_resolve, waiter)
            except RuntimeError:
                pass  # that loop is closed; its reader is gone


class EventBus:
    """Publishes events to subscribers and keeps the last `capacity` for replay."""

    def __init__(self, capacity: int = BUFFER_SIZE, clock: Callable[[], int] = time.time_ns):
        self.clock = clock
        self._lock = threading.Lock()
        self._recent: deque[EngineEvent] = deque(maxlen=capacity)
        self._subscribers: list[Subscription] = []

    def publish(
        self,
        type: str,  # noqa: A002 - dockerd's word
        action: str,
        actor_id: str,
        attributes: Mapping[str, str] | None = None,
        *,
        scope: str = "local",
    ) -> EngineEvent:
        # Stamped and delivered under the lock, so every reader sees the buffer's order.
        with self._lock:
            attrs = dict(attributes or {})
            event = EngineEvent(type, action, actor_id, attrs, self.clock(), scope)
            self._recent.append(event)
            for subscriber in self._subscribers:
                if subscriber.filters.include(event):
                    subscriber._deliver(event)
        return event

    def subscribe(
        self,
        filters: EventFilters | None = None,
        *,
        since: int | None = None,
        until: int | None = None,
    ) -> Subscription:
        """Replay buffered events with since <= timeNano <= until (when given), then follow.

        Without `since` nothing is replayed. An `until` already past replays and ends.
        """
        if since is not None and until is not None and since > until:
            raise InvalidArgument("`since` time cannot be after `until` time")
        filters = filters or EventFilters()
        with self._lock:
            replay = []
            if since is not None:
                replay = [
                    e
                    for e in self._recent
                    if e.time_nano >= since
                    and (until is None or e.time_nano <= until)
                    and filters.include(e)
                ]
            subscription = Subscription(self, filters, replay, until)
            if until is None or until >= self.clock():
                self._subscribers.append(subscription)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)


def parse_event_time(value: str, now_ns: int | None = None) -> int:
    """dockerd's since/until: unix seconds (fraction allowed), RFC 3339, or a Go duration ago.

    An RFC 3339 time without a zone is taken as UTC (dockerd takes the daemon's local time).
    """
    now_ns = time.time_ns() if now_ns is None else now_ns
    if re.fullmatch(r"\d+(\.\d{1,9})?", value):
        seconds, _, fraction = value.partition(".")
        return int(seconds) * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))
    if re.fullmatch(r"(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+", value):
        total = 0.0
        for number, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)", value):
            total += float(number) * _DURATION_NS[unit]
        return now_ns - int(total)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f"invalid time {value!r}: want unix seconds or RFC 3339") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp()) * 1_000_000_000 + parsed.microsecond * 1000


_DURATION_NS = {
    "h": 3_600e9, "m": 60e9, "s": 1e9, "ms": 1e6, "us": 1e3, "µs": 1e3, "ns": 1.0,
}


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _label_holds(want: str, attributes: Mapping[str, str]) -> bool:
    key, eq, value = want.partition("=")
    return key in attributes and (not eq or attributes[key] == value)


def _strip_tag(ref: str) -> str:
    """The familiar name of an image reference (no tag or digest); ids stay as they are."""
    if not ref or ref.startswith("sha256:"):
        return ref
    name = ref.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name = name[:colon]
    for prefix in ("docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name
