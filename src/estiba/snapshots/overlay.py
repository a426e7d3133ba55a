"""The overlayfs snapshotter: snapshot directories under a root and the mounts that stack them.

Layout: `<root>/metadata.db` (SQLite, WAL) and `<root>/snapshots/<id>/fs` (the snapshot's
own layer) plus `<root>/snapshots/<id>/work` (overlay's workdir, active snapshots only).
It never mounts: a snapshot without parents is a bind mount of its `fs`, a read-only view
of one layer is a bind mount of that layer, anything else is an overlay mount.

Beyond the contract, for cheap container snapshots (`estiba.snapshots.frozen`): `freeze`
commits an active snapshot in place and makes its key again, empty, on top; `reset`
makes an active snapshot's key again, empty, over another parent; each in one transaction.

Crash safety: a directory is made as `new-*`, renamed to its id and fsynced inside the
metadata write transaction that adds its row; a removed one is renamed to `rm-<id>` in
the transaction that deletes its row. At start, anything under `snapshots/` without a row
is deleted, so a crash at any point leaves no half-made or half-removed snapshot behind.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from estiba.errors import InvalidArgument, SystemFault
from estiba.snapshots._fs import disk_usage, fsync_dir, remove_tree
from estiba.snapshots.base import Info, Kind, Mount, Usage
from estiba.snapshots.metadata import MetaStore, Record

log = logging.getLogger(__name__)

_OVERLAY_PARAMETERS = Path("/sys/module/overlay/parameters")
_ID = re.compile(r"[0-9]+")


def default_overlay_options() -> tuple[str, ...]:
    """Options that keep every change in the upper directory as a full copy (no inode
    index, no metacopy-only files, no redirected directories), so that diffs and
    commits can read a container's changes from its upper directory alone."""
    wanted = ("index", "metacopy", "redirect_dir")
    return tuple(f"{name}=off" for name in wanted if (_OVERLAY_PARAMETERS / name).exists())


class OverlaySnapshotter:
    """`Snapshotter` on overlayfs. Safe to share between threads and between processes
    using the same root."""

    def __init__(
        self, root: str | os.PathLike[str], *, overlay_options: Sequence[str] | None = None
    ) -> None:
        self.root = Path(root).absolute()
        if any(c in str(self.root) for c in ",:="):
            raise InvalidArgument(f"snapshot root {self.root} must not contain ',', ':' or '='")
        self._snapshots = self.root / "snapshots"
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._snapshots.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise SystemFault(f"cannot create snapshot root {self.root}: {exc.strerror}") from exc
        self._options = tuple(
            overlay_options if overlay_options is not None else default_overlay_options()
        )
        self._store = MetaStore(self.root / "metadata.db")
        self.cleanup()

    # --- reading ------------------------------------------------------------------------

    def stat(self, key: str) -> Info:
        with self._store.read() as tx:
            return tx.get(key).info

    def usage(self, key: str) -> Usage:
        """An active snapshot's layer is measured now; others report what commit measured."""
        with self._store.read() as tx:
            record = tx.get(key)
        if record.info.kind is Kind.ACTIVE:
            return disk_usage(self._fs(record.id))
        return record.usage

    def mounts(self, key: str) -> list[Mount]:
        with self._store.read() as tx:
            record = tx.get(key)
        if record.info.kind is Kind.COMMITTED:
            raise InvalidArgument(
                f"snapshot {key} is committed", hint="prepare or view a snapshot on top of it"
            )
        return self._mounts(record)

    def walk(self) -> list[Info]:
        with self._store.read() as tx:
            return tx.infos()

    # --- changing -----------------------------------------------------------------------

    def prepare(
        self, key: str, parent: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> list[Mount]:
        return self._create(Kind.ACTIVE, key, parent, labels)

    def view(
        self, key: str, parent: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> list[Mount]:
        return self._create(Kind.VIEW, key, parent, labels)

    def commit(self, name: str, key: str, *, labels: Mapping[str, str] | None = None) -> None:
        """Freeze `key` as `name`, recording its usage; the directory keeps its id."""
        with self._store.write() as tx:
            record = tx.get(key)
            usage = disk_usage(self._fs(record.id))
            tx.commit_active(key, name, usage, labels)

    # --- Estiba's extensions for cheap container snapshots (not in the contract) -------

    def freeze(self, key: str, name: str, *, labels: Mapping[str, str] | None = None) -> None:
        """Commit the active snapshot `key` as `name` and make `key` again, empty, on top of
        it: one transaction, so a crash leaves either the old or the new state. The layer
        keeps its directory (O(1): no file is copied). Nothing may have `key` mounted: a
        mount would go on writing into the now frozen layer."""
        final: Path | None = None
        try:
            with self._store.write() as tx:
                record = tx.get(key)
                usage = disk_usage(self._fs(record.id))
                tx.commit_active(key, name, usage, labels)
                created = tx.create(Kind.ACTIVE, key, name, record.info.labels)
                final = self._snapshots / str(created.id)
                self._make_directory(created, final)
        except BaseException:
            if final is not None:
                remove_tree(final)
            raise
        self._discard(self._snapshots / str(record.id) / "work")  # overlay's, unused from now

    def reset(self, key: str, parent: str | None) -> None:
        """Drop the active snapshot `key`'s layer and make `key` again, empty, over the
        committed `parent` (a restore): one transaction, as `freeze`."""
        final: Path | None = None
        trash: Path | None = None
        try:
            with self._store.write() as tx:
                old = tx.get(key)
                if old.info.kind is not Kind.ACTIVE:
                    raise InvalidArgument(f"snapshot {key} is {old.info.kind.value}, not active")
                tx.remove(key)
                created = tx.create(Kind.ACTIVE, key, parent, old.info.labels)
                directory = self._snapshots / str(old.id)
                trash = self._snapshots / f"rm-{old.id}"
                os.rename(directory, trash)
                final = self._snapshots / str(created.id)
                self._make_directory(created, final)
        except BaseException:
            if final is not None:
                remove_tree(final)
            if trash is not None and trash.exists():
                os.rename(trash, self._snapshots / str(old.id))
            raise
        self._discard(trash)

    def layer_path(self, name: str) -> Path:
        """The directory of a snapshot's own layer (read-only use for committed ones)."""
        with self._store.read() as tx:
            return self._fs(tx.get(name).id)

    def remove(self, key: str) -> None:
        directory: Path | None = None
        trash: Path | None = None
        try:
            with self._store.write() as tx:
                record = tx.remove(key)
                directory = self._snapshots / str(record.id)
                trash = self._snapshots / f"rm-{record.id}"
                if directory.exists():
                    os.rename(directory, trash)
                    fsync_dir(self._snapshots)
                else:
                    directory = None
        except BaseException:
            if directory is not None and trash is not None and trash.exists():
                os.rename(trash, directory)  # the row is back, so is its directory
            raise
        if trash is not None:
            self._discard(trash)

    def cleanup(self) -> None:
        """Delete directories under `snapshots/` that no metadata row owns."""
        with self._store.write() as tx:
            ids = {str(i) for i in tx.ids()}
            orphans = [
                self._snapshots / name
                for name in os.listdir(self._snapshots)
                if not (_ID.fullmatch(name) and name in ids)
            ]
        for orphan in orphans:
            self._discard(orphan)

    def close(self) -> None:
        self._store.close()

    # --- internals ----------------------------------------------------------------------

    def _create(
        self, kind: Kind, key: str, parent: str | None, labels: Mapping[str, str] | None
    ) -> list[Mount]:
        final: Path | None = None
        try:
            with self._store.write() as tx:
                record = tx.create(kind, key, parent, labels)
                final = self._snapshots / str(record.id)
                self._make_directory(record, final)
        except BaseException:
            if final is not None:
                remove_tree(final)
            raise
        return self._mounts(record)

    def _make_directory(self, record: Record, final: Path) -> None:
        """Build the snapshot's directory as `new-*` and rename it into place."""
        temporary = Path(tempfile.mkdtemp(prefix="new-", dir=self._snapshots))
        try:
            (temporary / "fs").mkdir(mode=0o755)
            if record.info.kind is Kind.ACTIVE:
                (temporary / "work").mkdir(mode=0o711)
            if record.parent_ids:
                # The upper root's owner and mode win in the merged view: keep the parent's.
                st = os.stat(self._fs(record.parent_ids[0]))
                if os.geteuid() == 0:
                    os.chown(temporary / "fs", st.st_uid, st.st_gid)
                os.chmod(temporary / "fs", st.st_mode & 0o7777)
            else:
                os.chmod(temporary / "fs", 0o755)
            if final.exists():  # left by a crash whose transaction rolled back
                remove_tree(final)
            os.rename(temporary, final)
            fsync_dir(self._snapshots)
        except OSError as exc:
            remove_tree(temporary)
            raise SystemFault(f"cannot create snapshot directory: {exc.strerror}") from exc

    def _mounts(self, record: Record) -> list[Mount]:
        own = str(self._fs(record.id))
        parents = [str(self._fs(i)) for i in record.parent_ids]
        if record.info.kind is Kind.ACTIVE:
            if not parents:
                return [Mount("bind", own, ("rw", "rbind"))]
            options = (
                *self._options,
                f"lowerdir={':'.join(parents)}",
                f"upperdir={own}",
                f"workdir={self._snapshots / str(record.id) / 'work'}",
            )
            return [Mount("overlay", "overlay", options)]
        if not parents:
            return [Mount("bind", own, ("ro", "rbind"))]
        if len(parents) == 1:  # overlay needs two lowers when it has no upper
            return [Mount("bind", parents[0], ("ro", "rbind"))]
        options = ("ro", *self._options, f"lowerdir={':'.join(parents)}")
        return [Mount("overlay", "overlay", options)]

    def _fs(self, snapshot_id: int) -> Path:
        return self._snapshots / str(snapshot_id) / "fs"

    @staticmethod
    def _discard(path: Path) -> None:
        try:
            remove_tree(path)
        except OSError as exc:  # e.g. still mounted: the next cleanup tries again
            log.warning("cannot remove %s: %s", path, exc.strerror)
