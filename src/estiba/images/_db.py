"""The image store's SQLite database: schema, connection settings, transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from estiba.errors import SystemFault
from estiba.sqltx import immediate as transaction  # one write transaction, also the stores'

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL,
    manifest_media_type TEXT NOT NULL,
    manifest_size INTEGER NOT NULL,
    created TEXT,
    size INTEGER NOT NULL,
    labels TEXT NOT NULL,
    parent TEXT,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS image_refs (
    ref TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    is_digest INTEGER NOT NULL,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS image_refs_by_image ON image_refs(image_id);
CREATE TABLE IF NOT EXISTS image_blobs (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    PRIMARY KEY (image_id, digest)
);
CREATE INDEX IF NOT EXISTS image_blobs_by_digest ON image_blobs(digest);
CREATE TABLE IF NOT EXISTS image_layers (
    digest TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    size INTEGER NOT NULL
);
"""


def open_db(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open (creating if needed) the database in WAL mode with durable commits."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=5000")
    except (OSError, sqlite3.Error) as exc:
        raise SystemFault(f"cannot open the image database {path}: {exc}") from exc
    with transaction(db, threading.Lock()):
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
    return db
