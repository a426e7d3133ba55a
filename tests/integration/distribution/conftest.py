"""Fixtures for the registry tests: docker-registry on loopback (skipped with the reason
when the Debian package is missing) and the estibad fixtures of tests/integration/daemon."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.daemon.conftest import Estibad, busybox, daemon, make_daemon  # noqa: F401
from tests.integration.distribution.registry import REGISTRY, Registry, htpasswd_line

USER, PASSWORD = "estiba", "s3cret-pass"


def _need_registry() -> None:
    if not os.access(REGISTRY, os.X_OK):
        pytest.skip("docker-registry is not installed: apt-get install -y docker-registry")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An open registry (no auth)."""
    _need_registry()
    server = Registry(tmp_path_factory.mktemp("registry")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry with htpasswd Basic auth for USER/PASSWORD."""
    _need_registry()
    directory = tmp_path_factory.mktemp("auth-registry")
    htpasswd = directory / "htpasswd"
    htpasswd.write_text(htpasswd_line(USER, PASSWORD) + "\n")
    server = Registry(
        directory, {"htpasswd": {"realm": "basic-realm", "path": str(htpasswd)}}
    ).start()
    yield server
    server.stop()


@pytest.fixture
def docker_config(busybox: Estibad) -> Path:  # noqa: F811
    """The daemon fixture's DOCKER_CONFIG, emptied for this test."""
    path = Path(busybox.env["DOCKER_CONFIG"])
    (path / "config.json").unlink(missing_ok=True)
    return path


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory):
    """A registry that trusts JWTs from a token server of ours (bearer challenge flow)."""
    from tests.integration.distribution.token_server import TokenServer

    _need_registry()
    directory = tmp_path_factory.mktemp("token-registry")
    tokens = TokenServer(directory, USER, PASSWORD).start()
    server = Registry(directory, tokens.registry_auth()).start()
    yield server, tokens
    server.stop()
    tokens.stop()
