"""Following a json-file log loses nothing the shim wrote: not when the container is
removed (its log with it) before the follow looks again, not across a rotation."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path

from estiba.api.types import LogsOptions
from estiba.daemon.container_logs import log_chunks

FOLLOW = LogsOptions(stdout=True, stderr=True, follow=True)


def entry(text: str) -> bytes:
    return json.dumps({"log": text, "stream": "stdout", "time": "2026-01-01T00:00:00Z"}).encode() + b"\n"


def follow(log: Path, on_chunk: Callable[[int], None], states: list[bool]) -> list[bytes]:
    """Follow `log`, calling `on_chunk(n)` after the n-th chunk (and with 0 before any)."""
    running = iter(states)

    async def collect() -> list[bytes]:
        got: list[bytes] = []
        on_chunk(0)
        async for chunk in log_chunks(str(log), FOLLOW, lambda: next(running)):
            got.append(chunk.data)
            on_chunk(len(got))
        return got

    return asyncio.run(collect())


def test_the_last_lines_survive_the_removal_of_the_log(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    log.write_bytes(entry("first\n"))

    def on_chunk(count: int) -> None:
        if count == 1:  # the process prints its last line, exits, and is removed
            with open(log, "ab") as handle:
                handle.write(entry("last\n"))
            os.unlink(log)

    assert follow(log, on_chunk, [True, False]) == [b"first\n", b"last\n"]


def test_a_rotation_between_two_looks_loses_nothing(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    log.write_bytes(entry("one\n"))

    def on_chunk(count: int) -> None:
        if count == 1:  # as the shim rotates: the current file renamed, a new one begun
            with open(log, "ab") as handle:
                handle.write(entry("two\n"))
            os.replace(log, f"{log}.1")
            log.write_bytes(entry("three\n"))

    assert follow(log, on_chunk, [True, False]) == [b"one\n", b"two\n", b"three\n"]


def test_a_partial_line_waits_for_its_end(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    whole = entry("slow\n")
    log.write_bytes(whole[:10])
    looks = 0

    def running() -> bool:
        nonlocal looks
        looks += 1
        if looks == 2:  # the rest of the line arrives between two looks
            with open(log, "ab") as handle:
                handle.write(whole[10:])
        return looks < 3

    async def collect() -> list[bytes]:
        return [chunk.data async for chunk in log_chunks(str(log), FOLLOW, running)]

    assert asyncio.run(collect()) == [b"slow\n"]
