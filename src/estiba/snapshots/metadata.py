"""Snapshot metadata in SQLite (WAL): names, kinds, parents, labels and committed usage.

Every change runs in one write transaction (`MetaStore.write()`). The overlay snapshotter
creates, renames and fsyncs a snapshot's directory inside that transaction, before the
commit, so a row and its directory appear together; a directory without a row is an
orphan that `OverlaySnapshotter` deletes at start. Ids are never reused (AUTOINCREMENT),
so an orphan directory can never be mistaken for a live snapshot.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from estiba.errors import Conflict, InvalidArgument, NotFound, SystemFault, Unavailable
from estiba.snapshots.base import Info, Kind, Usage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT NOT NULL UNIQUE,
    kind    TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
    parent  INTEGER REFERENCES snapshots(id) ON DELETE RESTRICT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    labels  TEXT NOT NULL DEFAULT '{}',
    size    INTEGER NOT NULL DEFAULT 0,
    inodes  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS snapshots_parent ON snapshots(parent);
"""

_COLUMNS = "s.id, s.name, s.kind, p.name, s.created, s.updated, s.labels, s.size, s.inodes"
_SELECT = f"SELECT {_COLUMNS} FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent"

# Ancestors of one snapshot, nearest first (overlay wants the top layer first).
_ANCESTORS = """
WITH RECURSIVE chain(id, parent, depth) AS (
    SELECT id, parent, 0 FROM snapshots WHERE id = ?
    UNION ALL
    SELECT s.id, s.parent, chain.depth + 1 FROM snapshots s JOIN chain ON s.id = chain.parent
)
SELECT id FROM chain WHERE depth > 0 ORDER BY depth
"""


@dataclass(frozen=True)
class Record:
    """A snapshot row: its directory id, its public info, its ancestors and stored usage."""

    id: int
    info: Info
    parent_ids: tuple[int, ...]
    usage: Usage


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _check_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    labels = dict(labels or {})
    for key, value in labels.items():
        if not isinstance(key, str) or not isinstance(value, str) or not key:
            raise InvalidArgument(f"snapshot label {key!r}: keys and values must be strings")
    return labels


class Transaction:
    """Queries and changes inside one SQLite transaction; made by `MetaStore`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def find(self, key: str) -> Record | None:
        row = self._conn.execute(f"{_SELECT} WHERE s.name = ?", (key,)).fetchone()
        return None if row is None else self._record(row)

    def get(self, key: str) -> Record:
        record = self.find(key)
        if record is None:
            raise NotFound(f"snapshot {key} not found")
        return record

    def create(
        self, kind: Kind, key: str, parent: str | None, labels: Mapping[str, str] | None
    ) -> Record:
        """Insert an active or view snapshot over the committed `parent`."""
        if not key:
            raise InvalidArgument("snapshot key must not be empty")
        parent_id = None
        if parent:
            parent_record = self.find(parent)
            if parent_record is None:
                raise NotFound(f"parent snapshot {parent} not found")
            if parent_record.info.kind is not Kind.COMMITTED:
                raise InvalidArgument(f"parent snapshot {parent} is not committed")
            parent_id = parent_record.id
        if self.find(key) is not None:
            raise Conflict(f"snapshot {key} already exists")
        now = _now()
        self._conn.execute(
            "INSERT INTO snapshots (name, kind, parent, created, updated, labels)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key, kind.value, parent_id, now, now, json.dumps(_check_labels(labels))),
        )
        return self.get(key)

    def commit_active(
        self, key: str, name: str, usage: Usage, labels: Mapping[str, str] | None
    ) -> Record:
        """Turn the active snapshot `key` into the committed snapshot `name` (same id)."""
        record = self.get(key)
        if record.info.kind is not Kind.ACTIVE:
            raise InvalidArgument(f"snapshot {key} is {record.info.kind.value}, not active")
        if not name:
            raise InvalidArgument("snapshot name must not be empty")
        if name != key and self.find(name) is not None:
            raise Conflict(f"snapshot {name} already exists")
        merged = {**record.info.labels, **_check_labels(labels)}
        self._conn.execute(
            "UPDATE snapshots SET name = ?, kind = 'committed', updated = ?, labels = ?,"
            " size = ?, inodes = ? WHERE id = ?",
            (name, _now(), json.dumps(merged), usage.size, usage.inodes, record.id),
        )
        return self.get(name)

    def remove(self, key: str) -> Record:
        """Delete a snapshot row; Conflict while any snapshot has it as parent."""
        record = self.get(key)
        child = self._conn.execute(
            "SELECT name FROM snapshots WHERE parent = ? LIMIT 1", (record.id,)
        ).fetchone()
        if child is not None:
            raise Conflict(f"snapshot {key} has children (such as {child[0]}); remove them first")
        self._conn.execute("DELETE FROM snapshots WHERE id = ?", (record.id,))
        return record

    def ids(self) -> set[int]:
        return {row[0] for row in self._conn.execute("SELECT id FROM snapshots")}

    def infos(self) -> list[Info]:
        rows = self._conn.execute(f"{_SELECT} ORDER BY s.id").fetchall()
        return [self._info(row) for row in rows]

    def _record(self, row: tuple) -> Record:
        ancestors = tuple(r[0] for r in self._conn.execute(_ANCESTORS, (row[0],)))
        return Record(row[0], self._info(row), ancestors, Usage(row[7], row[8]))

    @staticmethod
    def _info(row: tuple) -> Info:
        return Info(
            name=row[1],
            kind=Kind(row[2]),
            parent=row[3],
            created=datetime.fromisoformat(row[4]),
            updated=datetime.fromisoformat(row[5]),
            labels=json.loads(row[6]),
        )


class MetaStore:
    """The metadata database: one connection per thread (and per process after a fork)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._connection()  # creates the database and its schema now, not on first use

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        """A consistent read-only view (a deferred transaction)."""
        with self._transaction("BEGIN") as tx:
            yield tx

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        """The one writer at a time (BEGIN IMMEDIATE); rolled back if the block raises."""
        with self._transaction("BEGIN IMMEDIATE") as tx:
            yield tx

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[Transaction]:
        conn = self._connection()
        if conn.in_transaction:
            raise RuntimeError("snapshot metadata transactions do not nest")
        try:
            conn.execute(begin)
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"snapshot metadata is busy: {exc}", hint="retry") from exc
        try:
            yield Transaction(conn)
        except BaseException:
            conn.rollback()
            raise
        try:
            conn.commit()
        except sqlite3.Error as exc:
            conn.rollback()
            raise SystemFault(f"cannot commit snapshot metadata: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        try:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise SystemFault(f"cannot open snapshot metadata {self.path}: {exc}") from exc
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._lock:
            self._connections.append(conn)
        return conn
