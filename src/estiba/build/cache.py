"""The build cache: Docker's classic rules, kept in SQLite under the data root.

A step is reused when the image it starts from (the parent) and its key match an entry.
The key (`step_key`) is a digest of what decides the step's result: the instruction as
it will run (the history line, variables substituted), the build args in scope, and for
COPY/ADD the sources' names, modes, owners and contents (`files_digest`; not their times,
as Docker's tarsum). Entries name the step's image; an entry whose image is gone (rmi) is
no hit. `builder prune` drops the entries (the images they name go with them when nothing
else holds them).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from estiba.errors import SystemFault

__all__ = ["BuildCache", "FileRecord", "files_digest", "step_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS steps (
    parent TEXT NOT NULL,
    key TEXT NOT NULL,
    image_id TEXT NOT NULL,
    created REAL NOT NULL,
    last_used REAL NOT NULL,
    PRIMARY KEY (parent, key)
);
CREATE INDEX IF NOT EXISTS steps_by_image ON steps(image_id)
"""

# (target path, mode, uid, gid, kind "f"/"d"/"l", sha256 of the content or link target)
FileRecord = tuple[str, int, int, int, str, str]


def step_key(created_by: str, inputs: Mapping[str, object] | None = None) -> str:
    """The cache key of a step: its history line and whatever else it depends on."""
    document = {"step": created_by, **(inputs or {})}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def files_digest(records: Iterable[FileRecord]) -> str:
    """One digest for the files a COPY/ADD writes (in order)."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(json.dumps(list(record)).encode() + b"\n")
    return "sha256:" + digest.hexdigest()


def content_digest(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class BuildCache:
    """(parent image, step key) -> the step's image, durable across daemon restarts."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self._lock = threading.Lock()
        try:
            Path(db_path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(db_path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            with self._lock:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise SystemFault(f"cannot open the build cache {db_path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def get(self, parent: str, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT image_id FROM steps WHERE parent=? AND key=?", (parent, key)
            ).fetchone()
            if row is not None:
                self._db.execute(
                    "UPDATE steps SET last_used=? WHERE parent=? AND key=?", (time.time(), parent, key)
                )
        return None if row is None else str(row[0])

    def put(self, parent: str, key: str, image_id: str) -> None:
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO steps (parent, key, image_id, created, last_used)"
                " VALUES (?,?,?,?,?)",
                (parent, key, image_id, now, now),
            )

    def forget(self, parent: str, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM steps WHERE parent=? AND key=?", (parent, key))

    def entries(self) -> list[tuple[str, str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT parent, key, image_id FROM steps ORDER BY created DESC"
            ).fetchall()
        return [(str(p), str(k), str(i)) for p, k, i in rows]

    def prune(self) -> list[str]:
        """Drop every entry; the images they named (newest first), for the caller to
        remove where nothing else holds them."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = self._db.execute("SELECT image_id FROM steps ORDER BY created DESC").fetchall()
                self._db.execute("DELETE FROM steps")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        seen: list[str] = []
        for (image_id,) in rows:
            if image_id not in seen:
                seen.append(image_id)
        return seen
