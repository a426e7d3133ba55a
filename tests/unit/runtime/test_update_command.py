"""`estiba-runtime update`: runc's flags and --resources document become the OCI
`linux.resources` of the change, and an unknown container is a one-line error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from estiba.errors import InvalidArgument
from estiba.runtime.cli import _parser, _update_resources

SCRIPT = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "estiba-runtime"
ARGV = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "estiba.runtime.cli"]


def resources(*argv: str) -> dict:
    return _update_resources(_parser("update").parse_args(["update", *argv, "c1"]))


def test_flags_become_oci_resources():
    assert resources("--memory", "64m", "--memory-swap", "-1", "--cpu-quota", "50000",
                     "--cpu-period", "100000", "--pids-limit", "20", "--cpuset-cpus", "0") == {
        "memory": {"limit": 64 << 20, "swap": -1},
        "cpu": {"quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 20},
    }  # fmt: skip


def test_flags_override_the_resources_document(tmp_path):
    document = tmp_path / "r.json"
    document.write_text('{"memory": {"limit": 1048576, "reservation": 7}, "blockIO": {"weight": 10}}')
    assert resources("-r", str(document), "--memory", "8m") == {
        "memory": {"limit": 8 << 20, "reservation": 7},
        "cpu": {},
        "blockIO": {"weight": 10},
    }


def test_a_bad_resources_document_is_invalid(tmp_path):
    document = tmp_path / "r.json"
    document.write_text("[1]")
    with pytest.raises(InvalidArgument, match="must be a JSON object"):
        resources("-r", str(document))


def test_update_of_an_unknown_container_is_one_line(tmp_path):
    result = subprocess.run([*ARGV, "--root", str(tmp_path), "update", "--pids-limit", "5", "nosuch"],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "nosuch" in result.stderr
