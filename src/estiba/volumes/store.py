"""Volume rows and which containers mount them, in SQLite (`<data_root>/volumes.db`, WAL).

    volumes           name, driver, mountpoint, labels, options, created, anonymous
    container_mounts  each container's resolved mounts, in order (JSON), with the volume
                      each one uses: a volume with rows here is in use

Every change is one transaction; the service makes and removes directories around them
so that a row and its directory come and go together.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import AbstractContextManager
from typing import Any

from estiba.errors import Conflict, NotFound
from estiba.volumes.base import Volume
from estiba.sqltx import immediate

__all__ = ["VolumeStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS volumes (
    name       TEXT PRIMARY KEY,
    driver     TEXT NOT NULL,
    mountpoint TEXT NOT NULL,
    created    TEXT NOT NULL,
    labels     TEXT NOT NULL DEFAULT '{}',
    options    TEXT NOT NULL DEFAULT '{}',
    anonymous  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS container_mounts (
    container TEXT NOT NULL,
    position  INTEGER NOT NULL,
    volume    TEXT REFERENCES volumes(name) ON UPDATE CASCADE ON DELETE RESTRICT,
    spec      TEXT NOT NULL,
    PRIMARY KEY (container, position)
);
CREATE INDEX IF NOT EXISTS mounts_by_volume ON container_mounts(volume);
"""


class VolumeStore:
    """The rows; safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(os.fspath(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db, self._lock)

    # --- volumes ----------------------------------------------------------------------

    def add(self, volume: Volume) -> Volume:
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM volumes WHERE name = ?", (volume.name,)).fetchone():
                raise Conflict(f"volume {volume.name} already exists")
            db.execute(
                "INSERT INTO volumes VALUES (?,?,?,?,?,?,?)",
                (volume.name, volume.driver, volume.mountpoint, volume.created,
                 json.dumps(dict(volume.labels)), json.dumps(dict(volume.options)), int(volume.anonymous)),
            )  # fmt: skip
        return volume

    def get(self, name: str) -> Volume:
        with self._lock:
            row = self._db.execute("SELECT * FROM volumes WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"get {name}: no such volume")
        return _volume(row)

    def list(self) -> list[Volume]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM volumes ORDER BY name").fetchall()
        return [_volume(row) for row in rows]

    def remove(self, name: str) -> None:
        """Delete the row; Conflict while a container mounts it."""
        with self.transaction() as db:
            users = _users(db, name)
            if users:
                raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
            if not db.execute("DELETE FROM volumes WHERE name = ?", (name,)).rowcount:
                raise NotFound(f"get {name}: no such volume")

    def rename(self, old: str, new: str, mountpoint: str) -> Volume:
        with self.transaction() as db:
            users = _users(db, old)
            if users:
                raise Conflict(f"rename {old}: volume is in use - [{', '.join(users)}]")
            if db.execute("SELECT 1 FROM volumes WHERE name = ?", (new,)).fetchone():
                raise Conflict(f"volume {new} already exists")
            if not db.execute(
                "UPDATE volumes SET name = ?, mountpoint = ? WHERE name = ?", (new, mountpoint, old)
            ).rowcount:
                raise NotFound(f"get {old}: no such volume")
        return self.get(new)

    def users(self, name: str) -> list[str]:
        with self._lock:
            return _users(self._db, name)

    def use_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT volume, COUNT(DISTINCT container) FROM container_mounts"
                " WHERE volume IS NOT NULL GROUP BY volume"
            ).fetchall()
        return {name: count for name, count in rows}

    # --- containers' mounts -------------------------------------------------------------

    def set_mounts(self, container: str, mounts: list[tuple[str | None, dict[str, Any]]]) -> None:
        """Record a container's mounts: (volume name or None, spec) in order."""
        with self.transaction() as db:
            db.execute("DELETE FROM container_mounts WHERE container = ?", (container,))
            db.executemany(
                "INSERT INTO container_mounts VALUES (?,?,?,?)",
                [(container, i, volume, json.dumps(spec)) for i, (volume, spec) in enumerate(mounts)],
            )

    def mounts(self, container: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT spec FROM container_mounts WHERE container = ? ORDER BY position", (container,)
            ).fetchall()
        return [json.loads(spec) for (spec,) in rows]

    def drop_mounts(self, container: str) -> list[str]:
        """Forget a container's mounts; return the volumes it used."""
        with self.transaction() as db:
            names = [
                name for (name,) in db.execute(
                    "SELECT DISTINCT volume FROM container_mounts WHERE container = ? AND volume IS NOT NULL",
                    (container,),
                )
            ]
            db.execute("DELETE FROM container_mounts WHERE container = ?", (container,))
        return names


def _users(db: sqlite3.Connection, name: str) -> list[str]:
    rows = db.execute(
        "SELECT DISTINCT container FROM container_mounts WHERE volume = ? ORDER BY container", (name,)
    ).fetchall()
    return [container for (container,) in rows]


def _volume(row: tuple[Any, ...]) -> Volume:
    name, driver, mountpoint, created, labels, options, anonymous = row
    return Volume(
        name=name, driver=driver, mountpoint=mountpoint, created=created,
        labels=json.loads(labels), options=json.loads(options), anonymous=bool(anonymous),
    )  # fmt: skip
