"""Login, logout and pushes to a registry with htpasswd Basic auth, with both CLIs; the
credentials live in DOCKER_CONFIG/config.json (0600), shared by estiba and docker."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

from tests.integration.daemon.conftest import BIN, Estibad
from tests.integration.distribution.conftest import PASSWORD, USER
from tests.integration.distribution.registry import Registry


def login(daemon: Estibad, server: str, password: str, *, docker: bool = False):
    argv = ["docker"] if docker else [str(BIN / "estiba")]
    argv += ["-H", daemon.url, "login", "-u", USER, "--password-stdin", server]
    return subprocess.run(argv, input=password.encode(), capture_output=True, env=daemon.env,
                          timeout=60)  # fmt: skip


def test_push_needs_login_then_works(
    busybox: Estibad, auth_registry: Registry, docker_config: Path
) -> None:
    name = f"{auth_registry.host}/private/busybox:1"
    busybox.estiba("tag", "busybox", name)
    refused = busybox.estiba("push", name, check=False)
    assert refused.returncode == 1
    error = refused.stderr.decode()
    assert "authentication required" in error and auth_registry.host in error, error

    wrong = login(busybox, auth_registry.host, "not-the-password")
    assert wrong.returncode == 1
    assert b"authentication required" in wrong.stderr or b"unauthorized" in wrong.stderr
    assert not (docker_config / "config.json").exists()

    right = login(busybox, auth_registry.host, PASSWORD)
    assert right.returncode == 0, right.stderr
    assert b"Login Succeeded" in right.stdout
    config = docker_config / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert auth_registry.host in json.loads(config.read_text())["auths"]

    pushed = busybox.estiba("push", name).stdout.decode()
    assert "1: digest: sha256:" in pushed

    # the docker CLI pulls with the credentials estiba stored
    busybox.docker("rmi", name)
    busybox.docker("pull", name)
    busybox.estiba("rmi", name)

    out = busybox.estiba("logout", auth_registry.host).stdout.decode()
    assert f"Removing login credentials for {auth_registry.host}" in out
    assert auth_registry.host not in json.loads(config.read_text())["auths"]
    again = busybox.estiba("pull", name, check=False)
    assert again.returncode == 1 and auth_registry.host.encode() in again.stderr


def test_docker_login_against_estibad(
    busybox: Estibad, auth_registry: Registry, docker_config: Path
) -> None:
    wrong = login(busybox, auth_registry.host, "nope", docker=True)
    assert wrong.returncode != 0
    right = login(busybox, auth_registry.host, PASSWORD, docker=True)
    assert right.returncode == 0, right.stderr
    config = json.loads((docker_config / "config.json").read_text())
    assert auth_registry.host in config["auths"]
    name = f"{auth_registry.host}/fromdocker/busybox:1"
    busybox.docker("tag", "busybox", name)
    busybox.docker("push", name)
    # estiba reads what docker stored
    busybox.estiba("push", name)


def test_docker_py_login_push_pull(busybox: Estibad, auth_registry: Registry) -> None:
    import docker

    client = docker.DockerClient(base_url=busybox.url, version="1.41")
    try:
        refused = None
        try:
            client.login(USER, "wrong", registry=auth_registry.host, reauth=True)
        except docker.errors.APIError as exc:
            refused = exc
        assert refused is not None and refused.status_code == 401
        answer = client.login(USER, PASSWORD, registry=auth_registry.host, reauth=True)
        assert answer["Status"] == "Login Succeeded"
        repo = f"{auth_registry.host}/dockerpy/busybox"
        client.images.get("busybox").tag(repo, "7")
        lines = list(client.images.push(repo, tag="7", stream=True, decode=True))
        assert any("aux" in line for line in lines), lines
        assert not any("error" in line for line in lines), lines
        client.images.remove(f"{repo}:7")
        pulled = client.images.pull(repo, tag="7")
        assert f"{repo}:7" in pulled.tags
        assert any(d.startswith(repo + "@sha256:") for d in pulled.attrs["RepoDigests"])
    finally:
        client.close()
