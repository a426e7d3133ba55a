"""The catalog of container snapshots: rows and directories together, names, crash leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from estiba.errors import Conflict, InvalidArgument, NotFound
from estiba.snapshots.catalog import ContainerSnapshot, SnapshotCatalog

CONTAINER = "a" * 64


def _snapshot(name: str) -> ContainerSnapshot:
    return ContainerSnapshot(CONTAINER, name, "2026-01-01T00:00:00Z", "sha256:x", {"Cmd": ["sh"]}, {}, {"k": "v"})


def _fill(directory: Path) -> int:
    (directory / "fs").mkdir()
    (directory / "fs" / "file").write_bytes(b"12345")
    return 5


def test_add_list_get_remove(tmp_path: Path) -> None:
    catalog = SnapshotCatalog(tmp_path)
    assert catalog.next_name(CONTAINER) == "snap0"
    added = catalog.add(_snapshot("snap0"), _fill)
    assert added.size == 5 and added.config == {"Cmd": ["sh"]} and added.labels == {"k": "v"}
    assert (catalog.directory(CONTAINER, "snap0") / "fs" / "file").read_bytes() == b"12345"
    assert catalog.next_name(CONTAINER) == "snap1"
    with pytest.raises(Conflict):
        catalog.add(_snapshot("snap0"), _fill)
    assert [s.name for s in catalog.list(CONTAINER)] == ["snap0"]
    catalog.remove(CONTAINER, "snap0")
    assert not catalog.directory(CONTAINER, "snap0").exists()
    with pytest.raises(NotFound):
        catalog.get(CONTAINER, "snap0")
    catalog.close()


def test_a_failed_fill_leaves_nothing(tmp_path: Path) -> None:
    catalog = SnapshotCatalog(tmp_path)

    def broken(directory: Path) -> int:
        (directory / "partial").write_text("x")
        raise OSError("disk full")

    with pytest.raises(OSError):
        catalog.add(_snapshot("s"), broken)
    assert catalog.list(CONTAINER) == [] and list((tmp_path / CONTAINER).iterdir()) == []


def test_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        SnapshotCatalog(tmp_path).add(_snapshot("../up"), _fill)


def test_cleanup_and_remove_all(tmp_path: Path) -> None:
    catalog = SnapshotCatalog(tmp_path)
    catalog.add(_snapshot("kept"), _fill)
    (tmp_path / CONTAINER / "new-crashed").mkdir()
    (tmp_path / ("b" * 64) / "orphan").mkdir(parents=True)
    catalog.close()
    catalog = SnapshotCatalog(tmp_path)  # a restart cleans up
    assert sorted(p.name for p in (tmp_path / CONTAINER).iterdir()) == ["kept"]
    assert not (tmp_path / ("b" * 64)).exists()
    catalog.remove_all(CONTAINER)
    assert catalog.list(CONTAINER) == [] and not (tmp_path / CONTAINER).exists()


def test_a_catalog_from_before_frozen_layers_gains_the_layer_column(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "catalog.db") as old:
        old.execute(
            "CREATE TABLE snapshots (container TEXT NOT NULL, name TEXT NOT NULL, created TEXT NOT NULL,"
            " image_id TEXT NOT NULL, config TEXT NOT NULL, host_config TEXT NOT NULL, labels TEXT NOT NULL,"
            " volumes TEXT NOT NULL DEFAULT '[]', size INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (container, name))"
        )
        old.execute("INSERT INTO snapshots VALUES (?,?,?,?,?,?,?,?,?)",
                    (CONTAINER, "old", "2025-01-01T00:00:00Z", "sha256:x", "{}", "{}", "{}", "[]", 5))  # fmt: skip
    (tmp_path / CONTAINER / "old" / "fs").mkdir(parents=True)
    catalog = SnapshotCatalog(tmp_path)
    assert catalog.get(CONTAINER, "old").layer == ""  # restored and copied from its fs copy
    assert (catalog.directory(CONTAINER, "old") / "fs").is_dir()
    frozen = ContainerSnapshot(CONTAINER, "new", "2026-01-01T00:00:00Z", "sha256:x", layer="frozen-1")
    catalog.add(frozen, lambda directory: 0)
    assert catalog.get(CONTAINER, "new").layer == "frozen-1" and catalog.layers() == {"frozen-1"}
    catalog.remove(CONTAINER, "new")
    assert catalog.layers() == set()
    catalog.close()
