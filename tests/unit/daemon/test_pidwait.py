"""Awaiting a process's end on a pidfd: no thread, no polling, no wait for a zombie's reaping."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import pytest

from estiba.daemon.pidwait import process_gone, shim_exit
from estiba.errors import Unavailable
from estiba.shim import statedir


def test_returns_when_the_process_exits() -> None:
    child = subprocess.Popen(["sleep", "0.3"])
    start = time.monotonic()
    asyncio.run(asyncio.wait_for(process_gone(child.pid, lambda pid: True), 5))
    assert 0.2 < time.monotonic() - start < 2.0
    child.wait()


def test_an_exited_zombie_counts_as_gone() -> None:
    child = subprocess.Popen(["true"])
    time.sleep(0.2)  # exited, not reaped yet
    asyncio.run(asyncio.wait_for(process_gone(child.pid, lambda pid: True), 2))
    child.wait()


def test_no_wait_when_the_pid_is_not_ours_any_more() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        start = time.monotonic()
        asyncio.run(asyncio.wait_for(process_gone(child.pid, lambda pid: False), 2))
        assert time.monotonic() - start < 1.0
    finally:
        child.kill()
        child.wait()


def test_a_pid_that_does_not_exist() -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    asyncio.run(asyncio.wait_for(process_gone(child.pid, lambda pid: True), 2))


def test_shim_exit_reads_the_recorded_status(tmp_path: Path) -> None:
    (tmp_path / statedir.EXIT_FILE).write_text(json.dumps({"exit_code": 3}))
    assert asyncio.run(shim_exit(str(tmp_path))) == {"exit_code": 3}


def test_shim_exit_without_a_record_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="died without recording an exit"):
        asyncio.run(shim_exit(str(tmp_path)))
