"""Small helpers the runtime integration tests share: unique ids, polling, leftovers."""

from __future__ import annotations

import glob
import time
import uuid
from collections.abc import Callable


def container_id(prefix: str) -> str:
    """A container id no other test (or leftover) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cgroup_dirs(cid: str) -> list[str]:
    """Cgroup directories named after the container (runc: /<id>, estiba: /estiba/<id>)."""
    return sorted(glob.glob(f"/sys/fs/cgroup/*/{cid}") + glob.glob(f"/sys/fs/cgroup/*/*/{cid}"))


def wait_for(check: Callable[[], object], timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_status(runtime, cid: str, status: str) -> dict:
    # A killed pid-namespace init lingers until every process of the namespace is reaped.
    return wait_for(lambda: (s := runtime.state(cid))["status"] == status and s, what=f"{cid} {status}")


def one_line(result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]
