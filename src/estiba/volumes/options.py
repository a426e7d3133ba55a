"""The pure parts of volumes: names, the local driver's options (dockerd's validateOpts and
the mount they describe), and the filters of `volume ls` and `volume prune`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from estiba.errors import InvalidArgument
from estiba.volumes.base import Volume

__all__ = ["LocalOptions", "VolumeFilters", "validate_volume_name"]

_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_VALID_OPTIONS = ("type", "device", "o", "size")
# dockerd's mandatoryOpts: an option and what must come with it.
_MANDATORY = {"device": ("type",), "type": ("device",), "o": ("device", "type")}


def validate_volume_name(name: str) -> str:
    """dockerd's local driver names: two characters at least, [a-zA-Z0-9][a-zA-Z0-9_.-]."""
    if not _NAME.fullmatch(name):
        raise InvalidArgument(
            f'create {name}: "{name}" includes invalid characters for a local volume name, '
            "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host "
            "directory, use absolute path"
        )
    return name


@dataclass(frozen=True)
class LocalOptions:
    """`-o type=... -o device=... -o o=...` of the local driver: the mount to make at the
    volume's mountpoint while a container uses it. No type: a plain directory."""

    type: str = ""
    device: str = ""
    o: str = ""

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> LocalOptions:
        for key in options:
            if key not in _VALID_OPTIONS:
                raise InvalidArgument(f'invalid option: "{key}"')
        if "size" in options:
            raise InvalidArgument('quota size requested but no quota support', hint="drop -o size")
        for key, needed in _MANDATORY.items():
            if key in options:
                for other in needed:
                    if other not in options:
                        raise InvalidArgument(f'missing required option: "{other}"')
        return cls(options.get("type", ""), options.get("device", ""), options.get("o", ""))

    @property
    def needs_mount(self) -> bool:
        return bool(self.type)

    def mount(self) -> tuple[str, str, tuple[str, ...]]:
        """(type, source, options) as `estiba.snapshots.Mount` takes them: `type=none` with
        `o=bind` is a bind mount; nfs's `addr=` stays in the data."""
        options = tuple(o for o in self.o.split(",") if o)
        kind = self.type
        if kind == "none" or "bind" in options or "rbind" in options:
            kind = "bind"
            if "bind" not in options and "rbind" not in options:
                options = ("bind", *options)
        return kind, self.device or self.type, options


@dataclass(frozen=True)
class VolumeFilters:
    """`volume ls` (dangling, driver, label, name) and `volume prune` (label, label!, all)."""

    dangling: bool | None = None
    drivers: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    not_labels: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    all: bool = False

    @classmethod
    def from_api(cls, filters: Mapping[str, tuple[str, ...]]) -> VolumeFilters:
        return cls(
            dangling=_one_bool(filters, "dangling"),
            drivers=tuple(filters.get("driver", ())),
            labels=tuple(filters.get("label", ())),
            not_labels=tuple(filters.get("label!", ())),
            names=tuple(filters.get("name", ())),
            all=bool(_one_bool(filters, "all")),
        )

    def matches(self, volume: Volume, *, in_use: bool) -> bool:
        if self.dangling is not None and self.dangling == in_use:
            return False
        if self.drivers and volume.driver not in self.drivers:
            return False
        if self.names and not any(name in volume.name for name in self.names):
            return False
        if not all(_labelled(volume.labels, want) for want in self.labels):
            return False
        return not any(_labelled(volume.labels, unwanted) for unwanted in self.not_labels)


def _labelled(labels: Mapping[str, str], want: str) -> bool:
    key, eq, value = want.partition("=")
    return key in labels and (not eq or labels[key] == value)


def _one_bool(filters: Mapping[str, tuple[str, ...]], key: str) -> bool | None:
    values = {v.lower() for v in filters.get(key, ())}
    if not values:
        return None
    if values <= {"true", "1"}:
        return True
    if values <= {"false", "0"}:
        return False
    raise InvalidArgument(f"invalid filter '{key}={','.join(sorted(values))}'")
