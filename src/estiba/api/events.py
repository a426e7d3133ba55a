"""Which events a client asked for: dockerd's event filters, applied to typed events.

Keys combine with AND, values of one key with OR. `container`, `volume`, `network` and
the other object keys match the actor's id or name by prefix; `image` matches the image
exactly, with or without its tag; `label` matches `key` or `key=value` attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from estiba.api.types import Event, Filters

__all__ = ["ACCEPTED_EVENT_FILTERS", "EventFilter", "event_json"]

ACCEPTED_EVENT_FILTERS = frozenset(
    {
        "config",
        "container",
        "daemon",
        "event",
        "image",
        "label",
        "network",
        "node",
        "plugin",
        "scope",
        "secret",
        "service",
        "type",
        "volume",
    }
)

# Object keys matched by the actor's id or its "name" attribute, when the event is of
# that type (dockerd: fuzzyMatchName).
_NAMED_TYPES = ("container", "network", "volume", "plugin", "node", "service", "secret", "config")


@dataclass(frozen=True)
class EventFilter:
    filters: Filters

    def matches(self, event: Event) -> bool:
        return (
            self._exact("event", event.action, event.action.split(":", 1)[0].strip())
            and self._exact("type", event.type)
            and self._exact("scope", event.scope)
            and self._daemon(event)
            and all(self._named(kind, event) for kind in _NAMED_TYPES)
            and self._image(event)
            and self._labels(event.attributes)
        )

    def _exact(self, key: str, *candidates: str) -> bool:
        values = self.filters.get(key)
        return not values or any(c in values for c in candidates)

    def _fuzzy(self, key: str, *candidates: str) -> bool:
        values = self.filters.get(key)
        return not values or any(c and c.startswith(v) for c in candidates for v in values)

    def _named(self, kind: str, event: Event) -> bool:
        if kind not in self.filters:
            return True
        return event.type == kind and self._fuzzy(
            kind, event.actor_id, event.attributes.get("name", "")
        )

    def _daemon(self, event: Event) -> bool:
        if "daemon" not in self.filters:
            return True
        return event.type == "daemon" and self._exact(
            "daemon", event.actor_id, event.attributes.get("name", "")
        )

    def _image(self, event: Event) -> bool:
        if "image" not in self.filters:
            return True
        name = event.attributes.get("name" if event.type == "image" else "image", "")
        ids = (event.actor_id, name, _strip_tag(event.actor_id), _strip_tag(name))
        return self._exact("image", *(i for i in ids if i))

    def _labels(self, attributes: Mapping[str, str]) -> bool:
        for wanted in self.filters.get("label", ()):
            key, sep, value = wanted.partition("=")
            if key not in attributes or (sep and attributes[key] != value):
                return False
        return True


def _strip_tag(reference: str) -> str:
    """busybox:latest -> busybox; registry:5000/x -> registry:5000/x; digests stay."""
    if "@" in reference:
        return reference
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    return reference[:colon] if colon > slash else reference


def event_json(event: Event) -> dict[str, object]:
    """An event as /events sends it, with the pre-1.22 fields clients still read."""
    document: dict[str, object] = {
        "Type": event.type,
        "Action": event.action,
        "Actor": {"ID": event.actor_id, "Attributes": dict(event.attributes)},
        "scope": event.scope,
        "time": event.time_ns // 1_000_000_000,
        "timeNano": event.time_ns,
    }
    if event.type == "container":
        document["status"] = event.action
        document["id"] = event.actor_id
        if "image" in event.attributes:
            document["from"] = event.attributes["image"]
    elif event.type == "image":
        document["status"] = event.action
        document["id"] = event.actor_id
    return document
