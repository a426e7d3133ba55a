"""atomic_write: the whole new content or the old one, never a mix, and no temp file left."""

from __future__ import annotations

import os
import stat

import pytest

from estiba.fsutil import atomic_write


@pytest.mark.parametrize("durable", [True, False])
def test_replaces_the_file_with_the_mode_asked(tmp_path, durable):
    path = tmp_path / "state.json"
    path.write_text("old")
    atomic_write(str(path), b"new", 0o600, durable=durable)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["state.json"]


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "missing-dir" / "file"
    with pytest.raises(FileNotFoundError):
        atomic_write(str(path), b"x")
    assert not path.exists()
