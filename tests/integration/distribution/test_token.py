"""The bearer-token flow against docker-registry configured with `auth: token` and our
token server: anonymous pulls get pull-only tokens, pushes need a login."""

from __future__ import annotations

from pathlib import Path

from tests.integration.daemon.conftest import Estibad
from tests.integration.distribution.conftest import PASSWORD
from tests.integration.distribution.test_login import login


def test_bearer_token_login_push_pull(
    busybox: Estibad, token_registry, docker_config: Path
) -> None:
    registry, tokens = token_registry
    name = f"{registry.host}/tok/busybox:1"
    busybox.estiba("tag", "busybox", name)
    refused = busybox.estiba("push", name, check=False)
    assert refused.returncode == 1
    assert registry.host.encode() in refused.stderr
    assert any("push" in r.get("scope", "") for r in tokens.requests)

    assert login(busybox, registry.host, "wrong").returncode == 1
    right = login(busybox, registry.host, PASSWORD)
    assert right.returncode == 0, right.stderr
    pushed = busybox.estiba("push", name).stdout.decode()
    assert "1: digest: sha256:" in pushed

    busybox.estiba("rmi", name)
    busybox.estiba("pull", name)
    scopes = [r.get("scope") for r in tokens.requests if r.get("scope")]
    assert "repository:tok/busybox:pull" in scopes
    assert all(r.get("service") == "estiba-test-registry" for r in tokens.requests)
