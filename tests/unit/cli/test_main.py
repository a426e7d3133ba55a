"""The entry point: global flags, one line per error on stderr, docker's exit codes, and a
lean start-up (no aiohttp, rich or API server for --help and ps)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from estiba.cli.base import ManyErrors, UsageError
from estiba.cli.client import daemon_error
from estiba.cli.main import _split_globals, error_lines, exit_code_for, main
from estiba.errors import Conflict, NotFound, Unavailable


@pytest.mark.parametrize(
    ("error", "command", "code"),
    [
        (daemon_error(404, "No such container: x"), "rm", 1),
        (daemon_error(409, "conflict"), "start", 1),
        (daemon_error(404, "No such image: missing"), "run", 125),
        (daemon_error(500, "boom"), "create", 125),
        (daemon_error(500, 'exec: "nope": executable file not found in $PATH'), "run", 127),
        (daemon_error(500, "open /bin/x: no such file or directory"), "run", 127),
        (daemon_error(500, "exec /etc/passwd: permission denied"), "run", 126),
        (UsageError("unknown flag: --x", "ps"), "ps", 125),
        (Unavailable("Cannot connect"), "ps", 1),
        (Unavailable("Cannot connect"), "run", 125),
        (KeyboardInterrupt(), "logs", 130),
    ],
)
def test_exit_codes_are_dockers(error, command, code):
    assert exit_code_for(error, command) == code


def test_daemon_errors_read_as_dockers_and_local_ones_plainly():
    assert error_lines(daemon_error(404, "No such container: x")) == [
        "Error response from daemon: No such container: x"
    ]
    assert error_lines(Unavailable("Cannot connect to the Estiba daemon")) == [
        "Cannot connect to the Estiba daemon"
    ]
    many = ManyErrors(
        [daemon_error(404, "No such container: a"), daemon_error(404, "No such container: b")]
    )
    assert len(error_lines(many)) == 2


def test_http_statuses_become_error_kinds():
    assert isinstance(daemon_error(404, "x"), NotFound)
    assert isinstance(daemon_error(409, "x"), Conflict)
    assert daemon_error(409, "x").status == 409


@pytest.mark.parametrize(
    ("argv", "host", "rest"),
    [
        (["ps"], None, ["ps"]),
        (["-H", "unix:///s", "ps", "-a"], "unix:///s", ["ps", "-a"]),
        (["--host=unix:///s", "ps"], "unix:///s", ["ps"]),
        (["-Hunix:///s", "run", "-H", "x"], "unix:///s", ["run", "-H", "x"]),
    ],
)
def test_global_flags_stop_at_the_command(argv, host, rest):
    options, remaining = _split_globals(argv)
    assert (options.get("host"), remaining) == (host, rest)


def test_unreachable_daemon_is_one_line_and_exit_1(tmp_path):
    err = io.StringIO()
    assert main(["-H", f"unix://{tmp_path}/none.sock", "ps"], stderr=err) == 1
    host = f"unix://{tmp_path}/none.sock"
    assert (
        err.getvalue() == f"Cannot connect to the Estiba daemon at {host}. Is the daemon running?\n"
    )


def test_usage_errors_exit_125_with_a_hint():
    err = io.StringIO()
    assert main(["ps", "--bogus"], stderr=err) == 125
    assert err.getvalue() == "estiba ps: unrecognized arguments: --bogus\nSee 'estiba ps --help'.\n"


def test_unknown_command_exits_1():
    err = io.StringIO()
    assert main(["frobnicate"], stderr=err) == 1
    assert "'frobnicate' is not an estiba command" in err.getvalue()


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage:  estiba [OPTIONS] COMMAND")
    for name in ("run", "ps", "exec", "images", "events"):
        assert f"\n  {name} " in out


_IMPORTS_PROBE = """
import json, sys
from estiba.cli.main import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'rich', 'asyncio')
               or m.startswith('estiba.api') or m.startswith('estiba.engine'))
print(json.dumps({"code": code, "heavy": heavy}))
"""


@pytest.mark.parametrize(
    "argv", [["--help"], ["ps", "-a"], ["-H", "unix:///nonexistent.sock", "ps"]]
)
def test_start_up_imports_nothing_heavy(argv):
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS_PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=30,
        env={"ESTIBA_HOST": "unix:///nonexistent.sock", "PATH": "/usr/bin:/bin"},
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["heavy"] == []
