"""Container snapshots (LXD's `lxc snapshot`): which exist, and where their files are.

    <root>/catalog.db                      SQLite (WAL): one row per snapshot
    <root>/<container id>/<name>/volumes/<volume>   its volumes' data (--include-volumes)
    <root>/<container id>/<name>/fs        the writable layer copied (catalogs made before
                                           frozen layers; `layer` is '' in their rows)

A snapshot's files are a frozen layer of the overlay snapshotter, named in the row's
`layer` (see `estiba.snapshots.frozen`): the catalog names it, the snapshotter keeps it.

A snapshot's directory is built as `new-*` beside it and renamed into place inside the
transaction that adds its row; a removed one is renamed to `rm-*` in the transaction
that deletes its row. `cleanup` deletes directories without a row, so a crash leaves
nothing half made. The configuration (Config, HostConfig, labels, image) is kept in the
row as the container had it, for restore and copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from estiba.errors import Conflict, InvalidArgument, NotFound
from estiba.snapshots._fs import fsync_dir, remove_tree
from estiba.sqltx import immediate

__all__ = ["ContainerSnapshot", "SnapshotCatalog", "validate_snapshot_name"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    container   TEXT NOT NULL,
    name        TEXT NOT NULL,
    created     TEXT NOT NULL,
    image_id    TEXT NOT NULL,
    config      TEXT NOT NULL,
    host_config TEXT NOT NULL,
    labels      TEXT NOT NULL,
    volumes     TEXT NOT NULL DEFAULT '[]',
    size        INTEGER NOT NULL DEFAULT 0,
    layer       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (container, name)
);
"""
_COLUMNS = "container, name, created, image_id, config, host_config, labels, volumes, size, layer"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def validate_snapshot_name(name: str) -> str:
    if not _NAME.fullmatch(name) or len(name) > 128:
        raise InvalidArgument(
            f"invalid snapshot name {name!r}", hint="use letters, digits, '_', '.' and '-'"
        )
    return name


@dataclass(frozen=True)
class ContainerSnapshot:
    container: str
    name: str
    created: str
    image_id: str
    config: dict[str, Any] = field(default_factory=dict)
    host_config: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    volumes: tuple[str, ...] = ()
    size: int = 0
    layer: str = ""  # the frozen layer with its files ('' in an old catalog: `fs` beside)


class SnapshotCatalog:
    """The snapshots of every container under one root; safe to share between threads."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.root / "catalog.db", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(snapshots)")}
        if "layer" not in columns:  # a catalog from before frozen layers
            self._db.execute("ALTER TABLE snapshots ADD COLUMN layer TEXT NOT NULL DEFAULT ''")
        self.cleanup()

    def close(self) -> None:
        self._db.close()

    def directory(self, container: str, name: str) -> Path:
        return self.root / container / name

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db, self._lock)

    # --- reading ----------------------------------------------------------------------

    def list(self, container: str) -> list[ContainerSnapshot]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM snapshots WHERE container = ? ORDER BY created, name",
                (container,),
            ).fetchall()
        return [_snapshot(row) for row in rows]

    def get(self, container: str, name: str) -> ContainerSnapshot:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM snapshots WHERE container = ? AND name = ?",
                (container, name),
            ).fetchone()
        if row is None:
            raise NotFound(f"No such snapshot: {name}")
        return _snapshot(row)

    def layers(self) -> set[str]:
        """The frozen layers some snapshot (of any container) names."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT layer FROM snapshots WHERE layer != ''")
            return {row[0] for row in rows}

    def next_name(self, container: str) -> str:
        """LXD's automatic names: snap0, snap1, ..."""
        taken = {s.name for s in self.list(container)}
        index = 0
        while f"snap{index}" in taken:
            index += 1
        return f"snap{index}"

    # --- changing ---------------------------------------------------------------------

    def add(self, snapshot: ContainerSnapshot, fill: Callable[[Path], int]) -> ContainerSnapshot:
        """Add a snapshot whose directory `fill(directory)` builds (returning its size)."""
        validate_snapshot_name(snapshot.name)
        parent = self.root / snapshot.container
        parent.mkdir(mode=0o700, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="new-", dir=parent))
        try:
            size = fill(staging)
            with self._transaction() as db:
                if db.execute(
                    "SELECT 1 FROM snapshots WHERE container = ? AND name = ?",
                    (snapshot.container, snapshot.name),
                ).fetchone():
                    raise Conflict(f"snapshot {snapshot.name} already exists")
                db.execute(
                    f"INSERT INTO snapshots ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (snapshot.container, snapshot.name, snapshot.created, snapshot.image_id,
                     json.dumps(snapshot.config), json.dumps(snapshot.host_config),
                     json.dumps(snapshot.labels), json.dumps(list(snapshot.volumes)), size,
                     snapshot.layer),
                )  # fmt: skip
                os.rename(staging, parent / snapshot.name)
                fsync_dir(parent)
        except BaseException:
            remove_tree(staging)
            raise
        return self.get(snapshot.container, snapshot.name)

    def remove(self, container: str, name: str) -> None:
        trash: Path | None = None
        with self._transaction() as db:
            found = db.execute(
                "DELETE FROM snapshots WHERE container = ? AND name = ?", (container, name)
            ).rowcount
            if not found:
                raise NotFound(f"No such snapshot: {name}")
            directory = self.directory(container, name)
            if directory.exists():
                trash = directory.with_name(f"rm-{name}")
                remove_tree(trash)
                os.rename(directory, trash)
        if trash is not None:
            remove_tree(trash)

    def remove_all(self, container: str) -> None:
        """Every snapshot of a container that is being removed."""
        with self._transaction() as db:
            db.execute("DELETE FROM snapshots WHERE container = ?", (container,))
        shutil.rmtree(self.root / container, ignore_errors=True)

    def cleanup(self) -> None:
        """Delete the directories no row owns (left by a crash)."""
        with self._lock:
            owned = {(c, n) for c, n in self._db.execute("SELECT container, name FROM snapshots")}
        for container in os.listdir(self.root):
            directory = self.root / container
            if not directory.is_dir():
                continue
            for name in os.listdir(directory):
                if (container, name) not in owned:
                    remove_tree(directory / name)
            if not any(c == container for c, _ in owned):
                shutil.rmtree(directory, ignore_errors=True)


def _snapshot(row: tuple[Any, ...]) -> ContainerSnapshot:
    container, name, created, image_id, config, host_config, labels, volumes, size, layer = row
    return ContainerSnapshot(
        container=container, name=name, created=created, image_id=image_id,
        config=json.loads(config), host_config=json.loads(host_config),
        labels=json.loads(labels), volumes=tuple(json.loads(volumes)), size=size, layer=layer,
    )  # fmt: skip
