"""estibad end to end: the docker CLI, the estiba CLI and docker-py against a real daemon."""

from __future__ import annotations

import json

import docker
import pytest

from estiba import __version__
from tests.integration.daemon.conftest import Estibad


def text(result) -> str:  # type: ignore[no-untyped-def]
    return result.stdout.decode()


@pytest.fixture(scope="module")
def busybox(daemon: Estibad) -> str:
    out = text(daemon.estiba("image", "bootstrap", "busybox"))
    assert "Tagged busybox:latest" in out
    return out.strip().splitlines()[-1]


def test_docker_version(daemon: Estibad) -> None:
    version = json.loads(text(daemon.docker("version", "--format", "{{json .Server}}")))
    assert version["ApiVersion"] == "1.41"
    assert version["MinAPIVersion"] == "1.24"
    assert version["Os"] == "linux"
    assert version["Version"] == __version__


def test_docker_info(daemon: Estibad) -> None:
    info = json.loads(text(daemon.docker("info", "--format", "{{json .}}")))
    assert info["Driver"] == "overlay"
    assert info["DockerRootDir"] == str(daemon.data_root)
    assert info["NCPU"] >= 1 and info["MemTotal"] > 0
    assert info["CgroupDriver"] == "cgroupfs"
    assert info["Containers"] == 0


def test_bootstrap_busybox_then_list(daemon: Estibad, busybox: str) -> None:
    assert busybox.startswith("sha256:")
    listed = text(daemon.estiba("images"))
    assert "busybox" in listed and "latest" in listed and busybox[7:19] in listed
    rows = [
        json.loads(line)
        for line in text(daemon.docker("images", "--format", "{{json .}}")).splitlines()
    ]
    (row,) = [r for r in rows if r["Repository"] == "busybox"]
    assert row["Tag"] == "latest" and row["ID"] == busybox[7:19]
    size = json.loads(text(daemon.docker("image", "inspect", "busybox")))[0]["Size"]
    assert 500_000 < size < 20_000_000


def test_docker_image_inspect(daemon: Estibad, busybox: str) -> None:
    (image,) = json.loads(text(daemon.docker("image", "inspect", "busybox")))
    assert image["Id"] == busybox
    assert image["RepoTags"] == ["busybox:latest"]
    assert image["Config"]["Cmd"] == ["sh"]
    assert any(e.startswith("PATH=") for e in image["Config"]["Env"])
    assert image["RootFS"]["Type"] == "layers" and len(image["RootFS"]["Layers"]) == 1
    assert image["Os"] == "linux"
    history = text(daemon.docker("history", "busybox"))
    assert "estiba image bootstrap busybox" in history


def test_docker_tag_and_rmi(daemon: Estibad, busybox: str) -> None:
    daemon.docker("tag", "busybox", "example/box:1")
    (image,) = json.loads(text(daemon.docker("image", "inspect", "example/box:1")))
    assert image["Id"] == busybox
    out = text(daemon.docker("rmi", "example/box:1"))
    assert "Untagged: example/box:1" in out
    assert daemon.docker("image", "inspect", "example/box:1", check=False).returncode == 1
    assert daemon.docker("image", "inspect", "busybox", check=False).returncode == 0
    missing = daemon.docker("rmi", "nope", check=False)
    assert missing.returncode == 1 and b"No such image" in missing.stderr


def test_save_load_round_trip(daemon: Estibad, busybox: str) -> None:
    archive = daemon.docker("save", "busybox").stdout
    assert len(archive) > 500_000
    daemon.docker("tag", "busybox", "keep/me:1")  # so that rmi busybox only untags
    out = text(daemon.docker("rmi", "busybox"))
    assert "Untagged: busybox:latest" in out
    loaded = text(daemon.docker("load", input=archive))
    assert "Loaded image: busybox:latest" in loaded
    (image,) = json.loads(text(daemon.docker("image", "inspect", "busybox")))
    assert image["Id"] == busybox
    daemon.docker("rmi", "keep/me:1")


def test_docker_import(daemon: Estibad, busybox: str) -> None:
    archive = daemon.docker("save", "busybox").stdout
    daemon.docker("import", "-c", 'CMD ["sh"]', "-m", "from save", "-", "imported:1", input=archive)
    (image,) = json.loads(text(daemon.docker("image", "inspect", "imported:1")))
    assert image["Config"]["Cmd"] == ["sh"] and image["Comment"] == "from save"
    daemon.docker("rmi", "imported:1")


def test_containers_are_not_there_yet(daemon: Estibad) -> None:
    assert text(daemon.docker("ps", "-aq")) == ""
    gone = daemon.docker("rm", "web", check=False)
    assert gone.returncode == 1 and b"No such container: web" in gone.stderr


def test_docker_py(daemon: Estibad, busybox: str) -> None:
    client = docker.DockerClient(base_url=daemon.url)
    try:
        tags = [tag for image in client.images.list() for tag in image.tags]
        assert "busybox:latest" in tags
        assert client.images.get("busybox").id == busybox
        assert client.version()["ApiVersion"] == "1.41"
    finally:
        client.close()
