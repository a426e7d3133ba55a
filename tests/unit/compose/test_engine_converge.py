"""The engine against a recording fake of the API client: which requests `up` makes,
in which order, and what it prints."""

from __future__ import annotations

import io
import json

import pytest

from estiba.compose import labels, specs
from estiba.compose.engine import ConvergeOptions, Engine, Lifecycle, Progress, Recreate
from estiba.compose.model import Project
from estiba.errors import InvalidArgument, NotFound


class FakeClient:
    """Just enough of estiba.cli.client.Client: containers, networks, volumes, images."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.containers: dict[str, dict] = {}
        self.networks: set[str] = set()
        self.volumes: set[str] = set()
        self.images = {"busybox": "sha256:bb"}
        self._next = 0

    def get(self, path: str, **params):
        if path == "/containers/json":
            wanted = json.loads(params["filters"])["label"]
            return [c for c in self.containers.values() if all(
                "=" in w and c["Labels"].get(w.split("=")[0]) == w.split("=", 1)[1] for w in wanted
            ) and (params.get("all") or c["State"] == "running")]
        if path == "/networks":
            return [{"Name": n} for n in sorted(self.networks)]
        if path == "/volumes":
            return {"Volumes": [{"Name": v} for v in sorted(self.volumes)]}
        kind, name = path.strip("/").split("/")[:2]
        if kind == "networks" and name in self.networks:
            return {"Name": name}
        if kind == "volumes" and name in self.volumes:
            return {"Name": name}
        if kind == "images" and name in self.images:
            return {"Id": self.images[name]}
        if kind == "containers":
            return self._document(name)
        raise NotFound(f"no such object: {name}")

    def _document(self, ident: str) -> dict:
        container = self.containers[ident]
        return {"Name": container["Names"][0], "State": {"Status": container["State"]}, "Config": {}}

    def post(self, path: str, body=None, **params):
        self.calls.append(("POST", path if "name" not in params else f"{path}?name={params['name']}"))
        if path == "/networks/create":
            self.networks.add(body["Name"])
        elif path == "/volumes/create":
            self.volumes.add(body["Name"])
        elif path == "/containers/create":
            self._next += 1
            ident = f"c{self._next:02d}" + "0" * 12
            self.containers[ident] = {
                "Id": ident, "Names": [f"/{params['name']}"], "State": "created",
                "Labels": body["Labels"], "ImageID": self.images.get(body["Image"], ""),
            }  # fmt: skip
            return {"Id": ident}
        elif path.endswith("/start"):
            self.containers[path.split("/")[2]]["State"] = "running"
        elif path.endswith("/stop"):
            self.containers[path.split("/")[2]]["State"] = "exited"
        elif path.endswith("/rename"):
            self.containers[path.split("/")[2]]["Names"] = [f"/{params['name']}"]
        return None

    def call(self, method: str, path: str, params=None, body=None):
        self.calls.append((method, path))
        if method == "DELETE" and path.startswith("/containers/"):
            self.containers.pop(path.split("/")[2], None)
        if method == "DELETE" and path.startswith("/networks/"):
            self.networks.discard(path.split("/")[2])
        return None


def project(**services: dict) -> Project:
    config = {
        "name": "p",
        "services": {name: {"image": "busybox", "networks": {"default": None}, **s} for name, s in services.items()},
        "networks": {"default": {"name": "p_default"}},
        "volumes": {},
    }
    return Project(name="p", working_dir="/tmp/p", config_files=["/tmp/p/compose.yaml"], config=config)


def engine(client: FakeClient, model: Project) -> tuple[Engine, io.StringIO]:
    out = io.StringIO()
    return Engine(client, model, Progress(out), workers=1), out


def test_first_up_creates_the_network_then_containers_then_starts_them():
    client = FakeClient()
    eng, out = engine(client, project(web={"depends_on": {"db": {"condition": "service_started"}}}, db={}))
    eng.up(["db", "web"], ConvergeOptions())
    assert client.calls[0] == ("POST", "/networks/create")
    creates = [path for _, path in client.calls if path.startswith("/containers/create")]
    assert creates == ["/containers/create?name=p-db-1", "/containers/create?name=p-web-1"]
    lines = out.getvalue().splitlines()
    assert lines[:2] == [" Network p_default  Creating", " Network p_default  Created"]
    assert lines.index(" Container p-db-1  Started") < lines.index(" Container p-web-1  Starting")


def test_a_changed_service_is_recreated_in_compose_order():
    client = FakeClient()
    eng, _ = engine(client, project(web={"environment": {"A": "1"}}))
    eng.up(["web"], ConvergeOptions())
    old = next(iter(client.containers))
    client.calls.clear()
    eng2, out = engine(client, project(web={"environment": {"A": "2"}}))
    eng2.up(["web"], ConvergeOptions())
    assert client.calls[:4] == [
        ("POST", f"/containers/{old}/stop"),
        ("POST", f"/containers/{old}/rename?name={old[:12]}_p-web-1"),
        ("POST", "/containers/create?name=p-web-1"),
        ("DELETE", f"/containers/{old}"),
    ]
    (new,) = client.containers.values()
    assert new["State"] == "running" and new["Labels"][labels.CONFIG_HASH] == specs.config_hash(eng2.project, "web")
    assert " Container p-web-1  Recreate" in out.getvalue()


def test_an_unchanged_service_is_left_running():
    client = FakeClient()
    model = project(web={})
    engine(client, model)[0].up(["web"], ConvergeOptions())
    client.calls.clear()
    eng, out = engine(client, model)
    eng.up(["web"], ConvergeOptions())
    assert [c for c in client.calls if c[0] != "GET"] == []
    assert out.getvalue() == " Container p-web-1  Running\n"


def test_no_recreate_keeps_a_changed_container():
    client = FakeClient()
    engine(client, project(web={"environment": {"A": "1"}}))[0].up(["web"], ConvergeOptions())
    ids = set(client.containers)
    engine(client, project(web={"environment": {"A": "2"}}))[0].up(["web"], ConvergeOptions(recreate=Recreate.NEVER))
    assert set(client.containers) == ids


def test_orphans_are_warned_about_then_removed():
    client = FakeClient()
    engine(client, project(web={}, old={}))[0].up(["old", "web"], ConvergeOptions())
    eng, out = engine(client, project(web={}))
    eng.up(["web"], ConvergeOptions())
    assert "WARN[0000] Found orphan containers (p-old-1) for this project." in out.getvalue()
    eng.up(["web"], ConvergeOptions(remove_orphans=True))
    assert sorted(c["Names"][0] for c in client.containers.values()) == ["/p-web-1"]


def test_a_missing_external_volume_is_named():
    client = FakeClient()
    model = project(web={})
    model.config["volumes"] = {"data": {"name": "shared-data", "external": True}}
    with pytest.raises(NotFound, match='external volume "shared-data" not found'):
        engine(client, model)[0].up(["web"], ConvergeOptions())
    assert client.containers == {}


def test_down_removes_dependents_first_then_the_network():
    client = FakeClient()
    model = project(web={"depends_on": {"db": {"condition": "service_started"}}}, db={})
    engine(client, model)[0].up(["db", "web"], ConvergeOptions())
    client.calls.clear()
    out = io.StringIO()
    Lifecycle(client, "p", model, Progress(out), workers=1).down(remove_orphans=False, volumes=False, rmi=None, timeout=None)
    lines = out.getvalue().splitlines()
    assert lines.index(" Container p-web-1  Removed") < lines.index(" Container p-db-1  Stopping")
    assert lines[-2:] == [" Network p_default  Removing", " Network p_default  Removed"]
    assert client.containers == {}


def test_a_dependent_with_restart_true_restarts_when_its_dependency_is_recreated():
    client = FakeClient()
    web = {"depends_on": {"db": {"condition": "service_started", "restart": True}}}
    engine(client, project(web=web, db={"environment": {"A": "1"}}))[0].up(["db", "web"], ConvergeOptions())
    web_id = next(i for i, c in client.containers.items() if c["Names"] == ["/p-web-1"])
    client.calls.clear()
    eng, out = engine(client, project(web=web, db={"environment": {"A": "2"}}))
    eng.up(["db", "web"], ConvergeOptions())
    assert ("POST", f"/containers/{web_id}/restart") in client.calls
    assert " Container p-web-1  Restarted" in out.getvalue()
    client.calls.clear()
    engine(client, project(web=web, db={"environment": {"A": "2"}}))[0].up(["db", "web"], ConvergeOptions())
    assert not any(path.endswith("/restart") for _, path in client.calls)


def test_down_rmi_local_removes_only_the_images_built_without_a_name():
    client = FakeClient()
    model = project(web={}, app={})
    del model.config["services"]["app"]["image"]
    model.config["services"]["app"]["build"] = {"context": "/tmp/p", "dockerfile": "Dockerfile"}
    client.images["p-app"] = "sha256:built"
    engine(client, model)[0].up(["app", "web"], ConvergeOptions())
    out = io.StringIO()
    Lifecycle(client, "p", model, Progress(out), workers=1).down(remove_orphans=False, volumes=False, rmi="local", timeout=None)
    assert [path for method, path in client.calls if path.startswith("/images/") and method == "DELETE"] == ["/images/p-app"]
    assert " Image p-app  Removed" in out.getvalue()


def test_a_dependency_cycle_fails_before_anything_is_made():
    client = FakeClient()
    model = project(a={"depends_on": {"b": {}}}, b={"depends_on": {"a": {}}})
    with pytest.raises(InvalidArgument, match="dependency cycle detected: a -> b -> a"):
        engine(client, model)[0].up(["a", "b"], ConvergeOptions())
    assert client.calls == [] and client.networks == set()


def test_a_service_in_a_recreated_namespace_is_recreated_too():
    client = FakeClient()
    sidecar = {"network_mode": "service:web"}
    engine(client, project(web={"environment": {"A": "1"}}, sidecar=sidecar))[0].up(["sidecar", "web"], ConvergeOptions())
    ids = {c["Names"][0]: i for i, c in client.containers.items()}
    eng, out = engine(client, project(web={"environment": {"A": "2"}}, sidecar=sidecar))
    eng.up(["sidecar", "web"], ConvergeOptions())
    now = {c["Names"][0]: i for i, c in client.containers.items()}
    assert now["/p-web-1"] != ids["/p-web-1"] and now["/p-sidecar-1"] != ids["/p-sidecar-1"]
    lines = out.getvalue().splitlines()
    assert lines.index(" Container p-web-1  Recreated") < lines.index(" Container p-sidecar-1  Recreate")


def test_down_takes_the_one_off_containers_of_the_services_with_them():
    client = FakeClient()
    model = project(web={})
    engine(client, model)[0].up(["web"], ConvergeOptions())
    name, body = specs.container_body(model, "web", 1, oneoff=True)
    client.post("/containers/create", body, name=name)
    out = io.StringIO()
    Lifecycle(client, "p", model, Progress(out), workers=1).down(remove_orphans=False, volumes=False, rmi=None, timeout=None)
    assert client.containers == {}
    assert f" Container {name}  Removed" in out.getvalue() and "orphan" not in out.getvalue()
    assert out.getvalue().endswith(" Network p_default  Removed\n")


class RunningClient(FakeClient):
    """Inspect documents with State.Running and Mounts, as the engine gives them."""

    def _document(self, ident: str) -> dict:
        document = super()._document(ident)
        document["State"]["Running"] = document["State"]["Status"] == "running"
        document["Mounts"] = []
        return document


def test_up_wait_replaces_the_replicas_one_at_a_time_without_stopping_them_first():
    client = RunningClient()
    web = {"scale": 2, "stop_grace_period": "0s"}
    engine(client, project(web={**web, "environment": {"A": "1"}}))[0].up(["web"], ConvergeOptions())
    old = {c["Names"][0]: i for i, c in client.containers.items()}
    client.calls.clear()
    eng, out = engine(client, project(web={**web, "environment": {"A": "2"}}))
    eng.up(["web"], ConvergeOptions(wait=True))
    new = {c["Names"][0]: i for i, c in client.containers.items()}
    assert set(new) == {"/p-web-1", "/p-web-2"} and not set(new.values()) & set(old.values())
    changes = [path for method, path in client.calls if method in ("POST", "DELETE")]
    one, two = old["/p-web-1"], old["/p-web-2"]
    assert changes == [
        f"/containers/{one}/rename?name={one[:12]}_p-web-1",
        "/containers/create?name=p-web-1",
        f"/containers/{new['/p-web-1']}/start",
        f"/estiba/containers/{new['/p-web-1']}/ports/takeover",
        f"/containers/{one}/stop",
        f"/containers/{one}",
        f"/containers/{two}/rename?name={two[:12]}_p-web-2",
        "/containers/create?name=p-web-2",
        f"/containers/{new['/p-web-2']}/start",
        f"/estiba/containers/{new['/p-web-2']}/ports/takeover",
        f"/containers/{two}/stop",
        f"/containers/{two}",
    ]
    assert " Container p-web-2  Switched" in out.getvalue()
