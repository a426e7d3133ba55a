"""`estiba compose config` through the CLI's entry point (no daemon: config reads only
the files): --no-interpolate reaches the loader and the output keeps ${VAR} as written."""

from __future__ import annotations

import io
import textwrap

import pytest

from estiba.cli.main import main

FILE = """
services:
  web:
    image: "busybox:${TAG:-1}"
    environment:
      LITERAL: "$$HOME"
      FROM_HOST: "${FROM_HOST}"
"""


def config(tmp_path, capsys, monkeypatch, *flags: str) -> str:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(FILE))
    monkeypatch.setenv("ESTIBA_NO_AUTOSTART", "1")
    monkeypatch.setenv("ESTIBA_HOST", f"unix://{tmp_path}/no-daemon.sock")
    monkeypatch.setenv("FROM_HOST", "host-value")
    monkeypatch.chdir(tmp_path)
    assert main(["compose", "-p", "demo", "config", *flags]) == 0
    return capsys.readouterr().out


def test_config_interpolates_and_escapes_literal_dollars(tmp_path, capsys, monkeypatch):
    out = config(tmp_path, capsys, monkeypatch)
    assert "image: busybox:1\n" in out
    assert "FROM_HOST: host-value\n" in out and "LITERAL: $$HOME\n" in out


def test_config_no_interpolate_keeps_the_variables_as_written(tmp_path, capsys, monkeypatch):
    out = config(tmp_path, capsys, monkeypatch, "--no-interpolate")
    assert "image: busybox:${TAG:-1}\n" in out
    assert "FROM_HOST: ${FROM_HOST}\n" in out and "LITERAL: $$HOME\n" in out


@pytest.mark.parametrize("verb", ["build", "pull", "push"])
def test_a_command_that_needs_the_file_refuses_a_project_name_alone(tmp_path, monkeypatch, verb):
    monkeypatch.setenv("ESTIBA_NO_AUTOSTART", "1")
    monkeypatch.setenv("ESTIBA_HOST", f"unix://{tmp_path}/no-daemon.sock")
    monkeypatch.chdir(tmp_path)  # no compose file here or above (tmp_path's parents have none)
    err = io.StringIO()
    assert main(["compose", "-p", "demo", verb], stderr=err) == 1
    assert err.getvalue() == f"no compose file to {verb} from: run it in the project's directory or give -f\n"
