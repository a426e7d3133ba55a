"""Image tests that need root: images made here, unpacked, run by the OCI runtime.

`slow` tests (the Debian bootstrap: network and about a minute) run only with
ESTIBA_SLOW_TESTS=1.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: long (network, minutes); runs only with ESTIBA_SLOW_TESTS=1"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("ESTIBA_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set ESTIBA_SLOW_TESTS=1 to run it")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
