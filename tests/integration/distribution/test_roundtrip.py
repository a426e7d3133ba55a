"""Push, remove, pull and run against a real registry, with both CLIs; skopeo checks."""

from __future__ import annotations

import json

from tests.integration.daemon.conftest import Estibad
from tests.integration.distribution.registry import Registry, skopeo


def test_push_rmi_pull_run(busybox: Estibad, registry: Registry) -> None:
    name = f"{registry.host}/test/busybox:1"
    busybox.estiba("tag", "busybox", name)
    pushed = busybox.estiba("push", name).stdout.decode()
    assert "1: digest: sha256:" in pushed
    digest = pushed.split("digest: ")[1].split()[0]
    local = json.loads(busybox.estiba("image", "inspect", name).stdout)[0]
    assert f"{registry.host}/test/busybox@{digest}" in local["RepoDigests"]

    inspected = skopeo("inspect", "--tls-verify=false", f"docker://{name}")
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["Digest"] == digest

    busybox.estiba("rmi", name)
    pulled = busybox.estiba("pull", name).stdout.decode()
    assert f"Digest: {digest}" in pulled
    again = json.loads(busybox.estiba("image", "inspect", name).stdout)[0]
    assert again["Id"] == local["Id"]
    out = busybox.estiba("run", "--rm", name, "echo", "hello from the registry").stdout
    assert b"hello from the registry" in out


def test_a_fresh_daemon_downloads_unpacks_and_runs(
    busybox: Estibad, registry: Registry, make_daemon
) -> None:
    name = f"{registry.host}/fresh/busybox:1"
    busybox.estiba("tag", "busybox", name)
    busybox.estiba("push", name)
    local = json.loads(busybox.estiba("image", "inspect", name).stdout)[0]

    fresh = make_daemon()
    fresh.start()
    pulled = fresh.estiba("pull", name).stdout.decode()
    assert "Pull complete" in pulled and "Status: Downloaded newer image" in pulled
    assert list((fresh.data_root / "snapshots").rglob("*"))  # unpacked during the pull
    image = json.loads(fresh.estiba("image", "inspect", name).stdout)[0]
    assert image["Id"] == local["Id"]
    assert image["RepoDigests"] == [d for d in local["RepoDigests"] if "/fresh/" in d]
    out = fresh.estiba("run", "--rm", name, "echo", "pulled fresh").stdout
    assert b"pulled fresh" in out
    # pushed back to another repository, it keeps its digest (and mounts its blobs)
    again = f"{registry.host}/again/busybox:1"
    fresh.estiba("tag", name, again)
    pushed = fresh.estiba("push", again).stdout.decode()
    assert "Mounted from fresh/busybox" in pushed
    assert local["RepoDigests"][0].split("@")[1] in pushed


def test_docker_cli_push_pull_run(busybox: Estibad, registry: Registry) -> None:
    name = f"{registry.host}/docker/busybox:2"
    busybox.docker("tag", "busybox", name)
    pushed = busybox.docker("push", name).stdout.decode()
    assert "2: digest: sha256:" in pushed, pushed
    busybox.docker("rmi", name)
    pulled = busybox.docker("pull", name)
    text = pulled.stdout.decode()
    assert "Pull complete" in text or "Already exists" in text, text
    assert "Status: " in text
    digests = busybox.docker("images", "--digests", f"{registry.host}/docker/busybox").stdout
    assert b"sha256:" in digests
    out = busybox.docker("run", "--rm", name, "echo", "docker says hi").stdout
    assert b"docker says hi" in out


def test_pull_all_tags_and_by_digest(busybox: Estibad, registry: Registry) -> None:
    for tag in ("a", "b"):
        busybox.estiba("tag", "busybox", f"{registry.host}/multi/busybox:{tag}")
    busybox.estiba("push", "-a", f"{registry.host}/multi/busybox")
    for tag in ("a", "b"):
        busybox.estiba("rmi", f"{registry.host}/multi/busybox:{tag}")
    out = busybox.estiba("pull", "-a", f"{registry.host}/multi/busybox").stdout.decode()
    assert "Status:" in out
    listed = busybox.estiba("images", f"{registry.host}/multi/busybox").stdout.decode()
    assert " a " in listed and " b " in listed
    status, headers, _ = registry.get(
        "/v2/multi/busybox/manifests/a",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json,"
                 "application/vnd.docker.distribution.manifest.v2+json"},
    )  # fmt: skip
    digest = headers["Docker-Content-Digest"]
    by_digest = busybox.estiba("pull", f"{registry.host}/multi/busybox@{digest}").stdout
    assert digest.encode() in by_digest
