"""The volume contract: the `Volume` record and the `VolumeDriver` protocol."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Volume:
    """One volume as the store keeps it. `anonymous` volumes were made for a container
    (`-v /path`, an image's VOLUME) and go with it on `rm -v`; named ones never do."""

    name: str
    driver: str
    mountpoint: str
    created: str
    labels: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    anonymous: bool = False


class VolumeDriver(Protocol):
    """Where a volume's data lives, with this lifecycle:

    - `create(name, options)` makes the volume's directories and returns its mountpoint
      (nothing is mounted yet); InvalidArgument for options it does not take.
    - `mount(volume)` makes the data appear at the mountpoint when the volume has a device
      (`-o type=tmpfs`, `-o type=none,o=bind,device=/x`, nfs); a plain directory needs
      nothing. Called when the first container using it starts.
    - `unmount(volume)` undoes `mount`; called when the last such container stops.
    - `remove(volume)` deletes its data (unmounted first); `usage(volume)` measures it.
    """

    name: str

    def create(self, name: str, options: Mapping[str, str]) -> Path: ...

    def mount(self, volume: Volume) -> None: ...

    def unmount(self, volume: Volume) -> None: ...

    def remove(self, volume: Volume) -> None: ...

    def usage(self, volume: Volume) -> int: ...
