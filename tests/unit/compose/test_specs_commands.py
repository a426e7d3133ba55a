"""What `compose run` makes of a service (one_off_service) and when images are built or
pulled (estiba.compose.images.ensure_image), with a fake API client."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from estiba.cli.commands import compose_run
from estiba.compose.images import ensure_image
from estiba.compose.model import Project
from estiba.errors import NotFound, Unavailable


def run_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    compose_run.configure(parser)
    return parser.parse_args(list(argv))


SERVICE = {"image": "busybox", "command": ["serve"], "environment": {"A": "1"},
           "ports": [{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}],
           "container_name": "fixed", "labels": {"x": "1"}}


def test_one_off_overrides(monkeypatch):
    monkeypatch.setenv("FROM_HOST", "h")
    args = run_args("-e", "B=2", "-e", "FROM_HOST", "-e", "MISSING_ONE", "-l", "y=2", "-u", "nobody",
                    "-w", "/w", "-v", "./data:/data:ro", "-v", "cache:/cache", "--entrypoint", "sh -c",
                    "web", "echo", "hi")
    service = compose_run.one_off_service(SERVICE, args, "/srv/p", tty=False)
    assert service["command"] == ["echo", "hi"]
    assert service["entrypoint"] == ["sh", "-c"]
    assert service["environment"] == {"A": "1", "B": "2", "FROM_HOST": "h", "MISSING_ONE": None}
    assert service["labels"] == {"x": "1", "y": "2"}
    assert (service["user"], service["working_dir"]) == ("nobody", "/w")
    assert service["volumes"] == [
        {"type": "bind", "source": "/srv/p/data", "target": "/data", "read_only": True,
         "bind": {"create_host_path": True}},
        {"type": "volume", "source": "cache", "target": "/cache", "read_only": False},
    ]
    assert "ports" not in service  # only with --service-ports
    assert "container_name" not in service
    assert (service["tty"], service["stdin_open"]) == (False, True)
    assert SERVICE["command"] == ["serve"]  # the model is left alone


def test_one_off_ports():
    kept = compose_run.one_off_service(SERVICE, run_args("--service-ports", "web"), "/p", tty=True)
    assert kept["ports"] == SERVICE["ports"] and kept["tty"] is True
    published = compose_run.one_off_service(SERVICE, run_args("-p", "127.0.0.1:9000:90/udp", "web"), "/p", tty=False)
    assert published["ports"] == [{"mode": "ingress", "target": 90, "protocol": "udp",
                                   "published": "9000", "host_ip": "127.0.0.1"}]


class Stream:
    def __init__(self, messages: list[dict]) -> None:
        self.data = io.BytesIO(b"".join(json.dumps(m).encode() + b"\n" for m in messages))

    def read1(self, size: int = 65536) -> bytes:
        return self.data.read(size)

    def close(self) -> None:
        pass


class Images:
    """A fake engine: the images it has, and what was asked of it."""

    def __init__(self, present: dict[str, str], *, pull_fails: bool = False) -> None:
        self.present = dict(present)
        self.pull_fails = pull_fails
        self.calls: list[str] = []

    def get(self, path: str, **params: object) -> dict:
        name = path.removeprefix("/images/").removesuffix("/json")
        if name not in self.present:
            raise NotFound(f"No such image: {name}")
        return {"Id": self.present[name]}

    def open(self, method: str, path: str, params: dict, body: object = None, headers: object = None) -> Stream:
        if path == "/images/create":
            self.calls.append(f"pull {params['fromImage']}:{params['tag']}")
            if self.pull_fails:
                return Stream([{"errorDetail": {"message": "registry unreachable"}}])
            self.present[f"{params['fromImage']}:{params['tag']}"] = "sha256:pulled"
            self.present[params["fromImage"]] = "sha256:pulled"
            return Stream([{"status": "Pulled"}])
        assert path == "/build"
        self.calls.append(f"build {params['t']} args={params['buildargs']}")
        self.present[params["t"]] = "sha256:built"
        return Stream([{"stream": "Step 1/1 : FROM busybox\n"}, {"aux": {"ID": "sha256:built"}}])


def make_project(tmp_path, service: dict) -> Project:
    return Project("p", str(tmp_path), [], {"name": "p", "services": {"s": service}})


def buildable(tmp_path, **extra) -> dict:
    (tmp_path / "ctx").mkdir(exist_ok=True)
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM busybox\n")
    return {"build": {"context": str(tmp_path / "ctx"), "dockerfile": "Dockerfile", "args": {"V": "1"}}, **extra}


def test_present_image_is_used(tmp_path):
    client = Images({"busybox": "sha256:here"})
    assert ensure_image(client, make_project(tmp_path, {"image": "busybox"}), "s") == "sha256:here"
    assert client.calls == []


def test_missing_image_is_pulled(tmp_path):
    client = Images({})
    assert ensure_image(client, make_project(tmp_path, {"image": "busybox"}), "s") == "sha256:pulled"
    assert client.calls == ["pull busybox:latest"]


def test_missing_buildable_image_is_built_with_its_args(tmp_path):
    client = Images({})
    assert ensure_image(client, make_project(tmp_path, buildable(tmp_path)), "s") == "sha256:built"
    assert client.calls == ["build p-s args={'V': '1'}"]


def test_build_flag_rebuilds_a_present_image(tmp_path):
    client = Images({"p-s": "sha256:old"})
    assert ensure_image(client, make_project(tmp_path, buildable(tmp_path)), "s", build=True) == "sha256:built"
    client = Images({"p-s": "sha256:old"})
    assert ensure_image(client, make_project(tmp_path, buildable(tmp_path)), "s") == "sha256:old"
    assert client.calls == []


def test_pull_policy_never_and_always(tmp_path):
    with pytest.raises(NotFound, match="pull_policy is never"):
        ensure_image(Images({}), make_project(tmp_path, {"image": "x", "pull_policy": "never"}), "s")
    client = Images({"x": "sha256:old"})
    ensure_image(client, make_project(tmp_path, {"image": "x", "pull_policy": "always"}), "s")
    assert client.calls == ["pull x:latest"]


def test_failed_pull_of_a_buildable_service_falls_back_to_building(tmp_path):
    client = Images({}, pull_fails=True)
    service = buildable(tmp_path, image="reg.example/app:1", pull_policy="always")
    assert ensure_image(client, make_project(tmp_path, service), "s") == "sha256:built"
    assert client.calls == ["pull reg.example/app:1", "build reg.example/app:1 args={'V': '1'}"]
    with pytest.raises(Unavailable, match="registry unreachable"):
        ensure_image(Images({}, pull_fails=True), make_project(tmp_path, {"image": "x"}), "s")


def test_up_pull_overrides_the_pull_policy(tmp_path):
    client = Images({"x": "sha256:old"})
    ensure_image(client, make_project(tmp_path, {"image": "x", "pull_policy": "missing"}), "s", pull="always")
    assert client.calls == ["pull x:latest"]
    with pytest.raises(NotFound, match="pull_policy is never"):
        ensure_image(Images({}), make_project(tmp_path, {"image": "x"}), "s", pull="never")


def test_no_build_with_an_image_never_built_is_one_clear_error(tmp_path):
    client = Images({})
    with pytest.raises(NotFound, match="image p-s of service s is not built and --no-build was given"):
        ensure_image(client, make_project(tmp_path, buildable(tmp_path)), "s", build=False)
    assert client.calls == []  # no pull of a name that only a build makes
