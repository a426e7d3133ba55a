"""Helpers for the compose loader tests: write files into a temporary project and load it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from estiba.compose.loader import load_project


class ProjectDir:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def load(self, *files: str, environ: dict | None = None, **kwargs):
        paths = [str(self.root / f) for f in files] if files else None
        env = {"HOME": "/home/user"} if environ is None else environ
        if files:
            return load_project(paths, environ=env, **kwargs)
        return load_project(environ=env, project_directory=kwargs.pop("project_directory", str(self.root)), **kwargs)


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProjectDir:
    root = tmp_path / "myapp"
    root.mkdir()
    monkeypatch.chdir(root)
    return ProjectDir(root)
