"""`docker commit` and `estiba commit`: the container's changes become a layer on its image,
with history, author, message and --change; the new image runs with them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.integration.daemon.conftest import Estibad

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"), pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def busybox(daemon: Estibad) -> Iterator[Estibad]:
    daemon.estiba("image", "bootstrap", "busybox")
    yield daemon


def test_commit_then_run_the_new_image(busybox: Estibad) -> None:
    busybox.docker("run", "--name", "cm1", "busybox", "sh", "-c", "echo committed > /hello; rm /bin/true")
    try:
        image_id = busybox.docker(
            "commit", "-a", "Ana <ana@example.com>", "-m", "a message",
            "-c", 'CMD ["cat", "/hello"]', "-c", "ENV GREETING=hola", "-c", "EXPOSE 8080",
            "-c", "LABEL team=storage", "-c", "WORKDIR /srv", "cm1", "mine:1",
        ).stdout.decode().strip()  # fmt: skip
        assert image_id.startswith("sha256:")
        assert busybox.docker("run", "--rm", "mine:1").stdout == b"committed\n"
        shown = busybox.docker("run", "--rm", "mine:1", "sh", "-c", "echo $GREETING; pwd; ls /bin/true || echo gone")
        assert shown.stdout == b"hola\n/srv\ngone\n"  # the whiteout is in the layer
        document = json.loads(busybox.docker("image", "inspect", "mine:1").stdout)[0]
        config = document["Config"]
        assert config["Cmd"] == ["cat", "/hello"] and "GREETING=hola" in config["Env"]
        assert "8080/tcp" in config["ExposedPorts"] and config["Labels"]["team"] == "storage"
        assert document["Author"] == "Ana <ana@example.com>"
        base = json.loads(busybox.docker("image", "inspect", "busybox").stdout)[0]
        assert len(document["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 1
        history = busybox.docker("history", "--no-trunc", "--format", "{{.Comment}}", "mine:1").stdout
        assert history.decode().splitlines()[0] == "a message"
        # The runtime's mount points (/etc/hosts...) are not in the layer: only /hello is new.
        changes = busybox.docker("run", "--name", "cm2", "mine:1", "true", check=False)
        assert changes.returncode != 0  # /bin/true is gone in the new image
    finally:
        busybox.docker("rm", "-f", "cm1", "cm2", check=False)
        busybox.docker("rmi", "mine:1", check=False)


def test_estiba_commit_of_a_running_container(busybox: Estibad) -> None:
    busybox.docker("run", "-d", "--name", "cm3", "busybox", "sh", "-c", "echo live > /live; exec sleep 1000")
    try:
        busybox.docker("exec", "cm3", "sh", "-c", "until [ -e /live ]; do sleep 0.05; done")
        busybox.estiba("commit", "-c", "CMD cat /live", "cm3", "mine:2")
        assert busybox.docker("inspect", "-f", "{{.State.Status}}", "cm3").stdout.strip() == b"running"
        assert busybox.docker("run", "--rm", "mine:2").stdout == b"live\n"
        busybox.docker("commit", "--pause=false", "cm3", "mine:3")
        result = busybox.docker("commit", "-c", "FROM scratch", "cm3", check=False)
        assert result.returncode != 0 and b"not a valid change command" in result.stderr
    finally:
        busybox.docker("rm", "-f", "cm3")
        busybox.docker("rmi", "mine:2", "mine:3", check=False)
