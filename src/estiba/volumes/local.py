"""The local driver: `<root>/<name>/_data` directories, and for volumes made with
`-o type=... -o device=...` the mount of that device on `_data` while it is used.

Directories are made as `new-*` and renamed into place; removed ones are renamed to
`rm-*` and deleted; `orphans` lists what no row owns (a crash's leftovers). Nothing is
ever deleted through a mount that would not go away.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from estiba.errors import Conflict, SystemFault
from estiba.snapshots._fs import fsync_dir
from estiba.volumes.base import Volume
from estiba.volumes.options import LocalOptions

__all__ = ["LocalDriver"]

log = logging.getLogger(__name__)


class LocalDriver:
    """`VolumeDriver` on directories under `root`."""

    name = "local"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(mode=0o701, parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.root / name

    def mountpoint(self, name: str) -> Path:
        return self.root / name / "_data"

    def create(self, name: str, options: Mapping[str, str]) -> Path:
        LocalOptions.parse(options)
        final = self.path(name)
        staging = Path(tempfile.mkdtemp(prefix="new-", dir=self.root))
        try:
            os.chmod(staging, 0o701)
            (staging / "_data").mkdir(mode=0o755)
            os.rename(staging, final)
            fsync_dir(self.root)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if final.exists():
                raise Conflict(f"volume directory {final} already exists") from exc
            raise SystemFault(f"cannot create volume {name}: {exc.strerror}") from exc
        return final / "_data"

    def mount(self, volume: Volume) -> None:
        from estiba.snapshots import Mount, mount_all

        options = LocalOptions.parse(volume.options)
        target = self.mountpoint(volume.name)
        if not options.needs_mount or os.path.ismount(target):
            return
        kind, source, flags = options.mount()
        mount_all([Mount(kind, source, flags)], target)

    def unmount(self, volume: Volume) -> None:
        from estiba.daemon.rootfs import unmount_rootfs

        target = self.mountpoint(volume.name)
        if os.path.ismount(target):
            unmount_rootfs(target)

    def remove(self, volume: Volume) -> None:
        self.unmount(volume)
        directory = self.path(volume.name)
        if os.path.ismount(self.mountpoint(volume.name)):
            raise Conflict(f"remove {volume.name}: its mount is busy")
        if not directory.exists():
            return
        trash = Path(tempfile.mkdtemp(prefix="rm-", dir=self.root))
        os.rmdir(trash)
        os.rename(directory, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def rename(self, old: str, new: str) -> Path:
        os.rename(self.path(old), self.path(new))
        return self.mountpoint(new)

    def usage(self, volume: Volume) -> int:
        from estiba.snapshots._fs import disk_usage

        try:
            return disk_usage(self.mountpoint(volume.name)).size
        except OSError:
            return -1

    def orphans(self, names: set[str]) -> list[Path]:
        """Directories under the root that no volume owns."""
        found = []
        with contextlib.suppress(FileNotFoundError):
            for entry in os.listdir(self.root):
                if entry not in names:
                    found.append(self.root / entry)
        return found

    def discard(self, directory: Path) -> None:
        if os.path.ismount(directory / "_data"):
            log.warning("not deleting %s: something is mounted on it", directory)
            return
        shutil.rmtree(directory, ignore_errors=True)
