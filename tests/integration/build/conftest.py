"""A test estibad with busybox (the daemon tests' fixtures), and docker-registry on
loopback for --pull (the registry tests' fixture)."""

from __future__ import annotations

from tests.integration.daemon.conftest import busybox, daemon, make_daemon  # noqa: F401
from tests.integration.distribution.conftest import registry  # noqa: F401
