"""The snapshotter contract: the `Snapshotter` protocol and the types it speaks (`Mount`, `Info`).

A snapshotter keeps filesystem trees that stack on each other. It never mounts anything:
it hands back the mounts a caller needs (see `estiba.snapshots.mount` for the helper that
performs them), so the same answer serves a runtime, a test or a bundle builder.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable


class Kind(str, enum.Enum):
    """What a snapshot is for: written to (active), read (view), or frozen (committed)."""

    ACTIVE = "active"
    VIEW = "view"
    COMMITTED = "committed"


@dataclass(frozen=True)
class Info:
    """What a snapshotter knows about one snapshot, by its key (active, view) or name."""

    name: str
    kind: Kind
    parent: str | None
    created: datetime
    updated: datetime
    labels: Mapping[str, str] = field(default_factory=dict)


class Usage(NamedTuple):
    """Disk used by a snapshot's own layer: apparent bytes and inodes (hardlinks once)."""

    size: int
    inodes: int


@dataclass(frozen=True)
class Mount:
    """One mount a caller must perform, in order, on a target of its choosing.

    `type` is a filesystem type ("overlay") or "bind"; `options` mixes flags ("ro",
    "rbind") and filesystem data ("lowerdir=..."), as in /etc/fstab and containerd.
    """

    type: str
    source: str
    options: tuple[str, ...] = ()

    def option(self, key: str) -> str | None:
        """The value of a `key=value` option, or None when the option is absent."""
        prefix = key + "="
        for option in self.options:
            if option.startswith(prefix):
                return option[len(prefix) :]
        return None

    @property
    def readonly(self) -> bool:
        return "ro" in self.options

    def to_spec(self, destination: str) -> dict[str, Any]:
        """This mount as an entry of an OCI runtime spec's `mounts` list."""
        return {
            "destination": destination,
            "type": self.type,
            "source": self.source,
            "options": list(self.options),
        }


@runtime_checkable
class Snapshotter(Protocol):
    """Stacked filesystem snapshots with containerd's lifecycle.

    - `prepare(key, parent)` makes an *active* snapshot: a writable layer over the
      committed `parent` (or over nothing). It returns the mounts that show the tree.
    - `view(key, parent)` makes a read-only *view* of `parent`; writes are refused.
    - `mounts(key)` returns again what `prepare` or `view` returned.
    - `commit(name, key)` freezes the active snapshot `key` into the committed snapshot
      `name`; the key is gone afterwards. Only committed snapshots can be parents.
    - `remove(key)` drops an active, view or committed snapshot and its files; it refuses
      (Conflict) while other snapshots have it as parent. Unmount before removing.
    - `stat`, `usage` and `walk` report; none of them changes anything.

    Keys and names share one namespace. Errors: NotFound for an unknown key or parent,
    Conflict for a taken key or name, InvalidArgument for a wrong kind (committing a view,
    a parent that is not committed).
    """

    def stat(self, key: str) -> Info: ...

    def usage(self, key: str) -> Usage: ...

    def mounts(self, key: str) -> list[Mount]: ...

    def prepare(
        self, key: str, parent: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> list[Mount]: ...

    def view(
        self, key: str, parent: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> list[Mount]: ...

    def commit(
        self, name: str, key: str, *, labels: Mapping[str, str] | None = None
    ) -> None: ...

    def remove(self, key: str) -> None: ...

    def walk(self) -> list[Info]: ...

    def close(self) -> None: ...
