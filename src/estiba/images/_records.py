"""The typed records the image store hands out: images, history steps, removal reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from estiba.content import Descriptor


def short_id(image_id: str) -> str:
    """The 12 hex digits docker shows for an id."""
    return image_id.removeprefix("sha256:")[:12]


def unix_time(rfc3339: str | None) -> int:
    """Seconds since the epoch of an RFC 3339 time (0 when unknown or unreadable)."""
    if not rfc3339:
        return 0
    try:
        return int(datetime.fromisoformat(rfc3339).timestamp())
    except ValueError:
        return 0


@dataclass(frozen=True)
class Image:
    """One stored image: its id (config digest), manifest, and the names pointing at it."""

    id: str
    manifest: Descriptor
    created: str | None
    size: int
    labels: Mapping[str, str] = field(default_factory=dict)
    parent: str | None = None
    added_at: str = ""
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()

    @property
    def short_id(self) -> str:
        return short_id(self.id)

    @property
    def dangling(self) -> bool:
        return not self.repo_tags

    def with_refs(self, tags: tuple[str, ...], digests: tuple[str, ...]) -> Image:
        return replace(self, repo_tags=tags, repo_digests=digests)


@dataclass(frozen=True)
class ImageFilters:
    """`docker images --filter`: dangling=true/false, label=key[=value], reference=glob.

    `all` also lists untagged images that other images build on (intermediate layers).
    """

    dangling: bool | None = None
    labels: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    all: bool = False


@dataclass(frozen=True)
class ImageUser:
    """A container that uses an image, as the engine reports it."""

    container_id: str
    running: bool


@dataclass(frozen=True)
class HistoryItem:
    """One row of `docker history`; id is `<missing>` for steps without an image of their own."""

    id: str
    created: int
    created_by: str
    tags: tuple[str, ...]
    size: int
    comment: str


@dataclass
class RemoveReport:
    """What `remove` did, in Docker's terms: references untagged, image ids deleted."""

    untagged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
