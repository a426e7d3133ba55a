"""ProjectSnapshots against an in-memory engine speaking the few API routes it uses:
create pauses only the running containers and undoes everything on failure, restore
stops and starts in dependency order and puts files and volume data back, remove leaves
nothing, and each refusal says what to do."""

from __future__ import annotations

import copy
import io
import json
import re
from dataclasses import dataclass, field

import pytest

from estiba.compose import labels
from estiba.compose.engine.progress import Progress
from estiba.compose.snapshots import ORIGINAL_LABELS, ProjectSnapshots
from estiba.errors import Conflict, InvalidArgument, NotFound, SystemFault

P = "shop"


@dataclass
class Box:
    id: str
    service: str
    state: str = "running"
    depends_on: str = ""
    files: dict = field(default_factory=dict)
    volumes: tuple = ()
    snapshots: dict = field(default_factory=dict)  # name -> files

    project: str = P

    def document(self) -> dict:
        return {
            "Id": self.id, "Names": [f"/{self.project}-{self.service}-1"], "State": self.state,
            "Labels": {labels.PROJECT: self.project, labels.SERVICE: self.service, labels.ONEOFF: "False",
                       labels.CONTAINER_NUMBER: "1", labels.DEPENDS_ON: self.depends_on},
        }  # fmt: skip


class FakeEngine:
    """The API routes ProjectSnapshots calls, over containers and volumes in memory."""

    def __init__(self) -> None:
        self.boxes: dict[str, Box] = {}
        self.volumes: dict[str, dict] = {}  # name -> {"Labels", "data", "CreatedAt"}
        self.calls: list[str] = []
        self.fail: str | None = None  # a call (regex) that fails with SystemFault
        self.clock = 0

    def add(self, box: Box) -> Box:
        self.boxes[box.id] = box
        return box

    def volume(self, name: str, data: dict | None = None, options: dict | None = None) -> None:
        self.volumes[name] = {"Labels": {labels.PROJECT: P, labels.VOLUME: name.split("_", 1)[-1]},
                              "data": dict(data or {}), "CreatedAt": self._now(), "Options": options}

    def _now(self) -> str:
        self.clock += 1
        return f"2026-11-28T12:00:{self.clock:02d}.000000000Z"

    # --- the client's interface ------------------------------------------------------

    def get(self, path: str, **params):
        return self.call("GET", path, params)

    def post(self, path: str, body=None, **params):
        return self.call("POST", path, params, body)

    def call(self, method: str, path: str, params=None, body=None):
        params = {k: v for k, v in (params or {}).items() if v is not None}
        line = f"{method} {path}" + "".join(f" {k}={v}" for k, v in sorted(params.items()))
        self.calls.append(line)
        if self.fail and re.search(self.fail, line):
            raise SystemFault(f"injected failure: {line}")
        return self._route(method, path, params, body)

    def _route(self, method: str, path: str, params: dict, body):
        parts = path.strip("/").split("/")
        if path == "/containers/json":
            wanted = json.loads(params.get("filters") or '{"label": []}')["label"]
            found = [b.document() for b in self.boxes.values()]
            return [d for d in found if all(_has(d["Labels"], w) for w in wanted)
                    and (params.get("all") or d["State"] in ("running", "paused"))]
        if parts[0] == "containers" and parts[2] == "json":
            box = self.boxes[parts[1]]
            return {"Id": box.id, "Mounts": [{"Type": "volume", "Name": v} for v in box.volumes]}
        if parts[0] == "containers" and len(parts) == 3:
            box = self.boxes[parts[1]]
            box.state = {"pause": "paused", "unpause": "running", "stop": "exited", "start": "running"}[parts[2]]
            return None
        if parts[:2] == ["estiba", "containers"]:
            box = self.boxes[parts[2]]
            if len(parts) == 4 and method == "GET":
                return [{"Name": n, "Created": s["created"], "Size": 10, "Volumes": []} for n, s in box.snapshots.items()]
            if len(parts) == 4:
                if params["name"] in box.snapshots:
                    raise Conflict(f"snapshot {params['name']} already exists")
                box.snapshots[params["name"]] = {"files": dict(box.files), "created": self._now(), "state": box.state}
                return {"Name": params["name"]}
            name = parts[4]
            if name not in box.snapshots:
                raise NotFound(f"no snapshot {name}")
            if method == "DELETE":
                del box.snapshots[name]
                return None
            assert box.state not in ("running", "paused"), "restore of a running container"
            box.files = dict(box.snapshots[name]["files"])
            return None
        if path == "/volumes":
            wanted = json.loads(params["filters"])["label"]
            return {"Volumes": [{"Name": n, "Labels": v["Labels"], "CreatedAt": v["CreatedAt"], "Options": v["Options"]}
                                for n, v in self.volumes.items() if all(_has(v["Labels"], w) for w in wanted)]}
        if path == "/volumes/create":
            self.volumes.setdefault(body["Name"], {"Labels": body.get("Labels") or {}, "data": {},
                                                   "CreatedAt": self._now(), "Options": body.get("DriverOpts")})
            return {"Name": body["Name"]}
        if parts[0] == "volumes":
            if parts[1] not in self.volumes:
                raise NotFound(f"get {parts[1]}: no such volume")
            if method == "DELETE":
                del self.volumes[parts[1]]
            return {"Name": parts[1], "Labels": self.volumes.get(parts[1], {}).get("Labels")}
        if parts[:2] == ["estiba", "volumes"] and parts[3] == "replace":
            users = [b for b in self.boxes.values() if parts[2] in b.volumes and b.state in ("running", "paused")]
            if users:
                raise Conflict(f"volume {parts[2]} is in use by running containers")
            self.volumes[parts[2]]["data"] = dict(self.volumes[params["from"]]["data"])
            return {"Name": parts[2]}
        if path == "/system/df":
            return {"Volumes": [{"Name": n, "UsageData": {"Size": 100 * len(v["data"])}} for n, v in self.volumes.items()]}
        raise AssertionError(f"unexpected call {method} {path}")


def _has(found: dict, wanted: str) -> bool:
    key, _, value = wanted.partition("=")
    return key in found and (not value or found[key] == value)


@pytest.fixture
def engine() -> FakeEngine:
    engine = FakeEngine()
    engine.add(Box("d" * 12, "db", files={"/etc/db": "v1"}, volumes=("shop_data",)))
    engine.add(Box("w" * 12, "web", depends_on="db:service_started:false", files={"/app": "v1"}, volumes=("shop_data",)))
    engine.add(Box("j" * 12, "job", state="exited", files={"/out": "done"}))
    engine.volume("shop_data", {"a.txt": "hello"})
    return engine


def snapshots(engine: FakeEngine) -> tuple[ProjectSnapshots, io.StringIO]:
    stream = io.StringIO()
    return ProjectSnapshots(engine, P, Progress(stream)), stream


def test_create_pauses_the_running_containers_around_every_part(engine: FakeEngine) -> None:
    engine.boxes["w" * 12].state = "paused"  # paused by the user: left paused
    made = snapshots(engine)[0].create()
    assert made.name == "snap0"
    assert [p.service for p in made.containers] == ["db", "job", "web"]
    assert [(p.copy, p.volume) for p in made.volumes] == [("shop_data.snap0", "shop_data")]
    pauses = [c for c in engine.calls if re.search(r"/(un)?pause$", c)]
    assert pauses == [f"POST /containers/{'d' * 12}/pause", f"POST /containers/{'d' * 12}/unpause"]
    parts = [i for i, c in enumerate(engine.calls) if "snapshots name=" in c or "/replace" in c]
    assert engine.calls.index(pauses[0]) < min(parts) and max(parts) < engine.calls.index(pauses[1])
    assert {b.state for b in engine.boxes.values()} == {"running", "paused", "exited"}
    assert engine.boxes["w" * 12].state == "paused"
    copy_ = engine.volumes["shop_data.snap0"]
    assert copy_["data"] == {"a.txt": "hello"}
    assert copy_["Labels"][labels.SNAPSHOT] == "snap0" and copy_["Labels"][labels.PROJECT] == P
    assert copy_["Labels"][labels.SNAPSHOT_VOLUME] == "shop_data" and labels.VOLUME not in copy_["Labels"]
    assert json.loads(copy_["Labels"][ORIGINAL_LABELS]) == {labels.PROJECT: P, labels.VOLUME: "data"}


def test_names_lxd_style_and_refusals(engine: FakeEngine) -> None:
    project, _ = snapshots(engine)
    assert project.create().name == "snap0"
    assert project.create("v2.1").name == "v2.1"
    assert project.create().name == "snap1"
    with pytest.raises(Conflict, match="snapshot v2.1 already exists in project shop"):
        project.create("v2.1")
    with pytest.raises(InvalidArgument, match="invalid snapshot name '-x'"):
        project.create("-x")
    engine.volume("shop_data.mine")  # someone's volume where the copy would go
    with pytest.raises(Conflict, match="volume shop_data.mine already exists"):
        project.create("mine")
    assert "shop_data.mine" not in [s for s in project.snapshots()]
    empty = ProjectSnapshots(FakeEngine(), P, Progress(None))
    with pytest.raises(NotFound, match="project shop has no containers: create them with `estiba compose up -d`"):
        empty.create()


def test_a_failed_create_leaves_nothing_and_unpauses(engine: FakeEngine) -> None:
    engine.fail = r"/estiba/volumes/shop_data.snap0/replace"
    before_volumes = set(engine.volumes)
    with pytest.raises(SystemFault, match="injected failure"):
        snapshots(engine)[0].create()
    assert set(engine.volumes) == before_volumes
    assert all(not b.snapshots for b in engine.boxes.values())
    assert engine.boxes["d" * 12].state == "running" and engine.boxes["w" * 12].state == "running"


def test_restore_needs_force_for_a_running_project(engine: FakeEngine) -> None:
    project, _ = snapshots(engine)
    project.create("good")
    engine.calls.clear()
    with pytest.raises(Conflict, match=r"project shop is running \(shop-db-1, shop-web-1\): stop the project first"):
        project.restore("good")
    assert not [c for c in engine.calls if c.startswith("POST")]  # nothing touched


def test_restore_brings_files_and_data_back_in_dependency_order(engine: FakeEngine) -> None:
    project, stream = snapshots(engine)
    project.create("good")
    engine.boxes["d" * 12].files["/etc/db"] = "v2"
    engine.boxes["w" * 12].files = {}
    engine.boxes["j" * 12].files["/out"] = "again"
    engine.volumes["shop_data"]["data"] = {"b.txt": "later"}
    engine.calls.clear()

    project.restore("good", force=True)

    assert [b.files for b in engine.boxes.values()] == [{"/etc/db": "v1"}, {"/app": "v1"}, {"/out": "done"}]
    assert engine.volumes["shop_data"]["data"] == {"a.txt": "hello"}
    assert [b.state for b in engine.boxes.values()] == ["running", "running", "exited"]
    moves = [c.split("/")[2][0] + ":" + c.rsplit("/", 1)[1] for c in engine.calls if re.search(r"/(stop|start)$", c)]
    assert moves == ["w:stop", "d:stop", "d:start", "w:start"]  # dependents first, then back
    assert "WARN" not in stream.getvalue()


def test_restore_refuses_containers_newer_than_the_snapshot(engine: FakeEngine) -> None:
    project, _ = snapshots(engine)
    project.create("good")
    engine.add(Box("n" * 12, "cache"))
    with pytest.raises(Conflict, match=r"snapshot good has no shop-cache-1: created or recreated after it: remove them"):
        project.restore("good", force=True)
    assert engine.boxes["d" * 12].state == "running"


def test_a_snapshot_without_its_containers_restores_its_volumes(engine: FakeEngine) -> None:
    project, stream = snapshots(engine)
    project.create("good")
    engine.boxes.clear()  # `down`: the containers went, their snapshots with them
    del engine.volumes["shop_data"]  # and the volume was removed by hand
    project.restore("good")
    assert engine.volumes["shop_data"]["data"] == {"a.txt": "hello"}
    assert engine.volumes["shop_data"]["Labels"] == {labels.PROJECT: P, labels.VOLUME: "data"}
    assert "snapshot good holds no container any more (removed since): restoring its volumes only" in stream.getvalue()


def test_a_failed_restore_says_the_containers_are_left_stopped(engine: FakeEngine) -> None:
    project, _ = snapshots(engine)
    project.create("good")
    engine.fail = r"snapshots/good/restore"
    with pytest.raises(SystemFault, match="restoring snapshot good of project shop failed: injected failure.*shop-db-1, shop-web-1 left stopped"):
        project.restore("good", force=True)


def test_unknown_names_and_an_empty_project(engine: FakeEngine) -> None:
    project, _ = snapshots(engine)
    with pytest.raises(NotFound) as caught:
        project.restore("nope")
    assert str(caught.value) == "no snapshot nope in project shop: list them with `estiba compose snapshot ls`"
    with pytest.raises(NotFound, match="no snapshot nope"):
        project.remove("nope")
    empty = ProjectSnapshots(FakeEngine(), P, Progress(None))
    with pytest.raises(NotFound, match="project shop has no containers and no snapshots"):
        empty.restore("snap0")


def test_remove_takes_every_part_and_listing_sums_sizes(engine: FakeEngine) -> None:
    project, _ = snapshots(engine)
    project.create("one")
    project.create("two")
    listed = project.snapshots(sizes=True)
    assert list(listed) == ["one", "two"]
    assert listed["one"].size == 3 * 10 + 100  # three container snapshots, one file copied
    assert listed["one"].created == "2026-11-28T12:00:02.000000000Z"  # the earliest part
    before = copy.deepcopy(engine.volumes)
    project.remove("one")
    assert set(before) - set(engine.volumes) == {"shop_data.one"}
    assert [list(b.snapshots) for b in engine.boxes.values()] == [["two"]] * 3
    assert list(project.snapshots()) == ["two"]


def test_restore_refuses_a_volume_used_by_a_container_outside_the_project(engine: FakeEngine) -> None:
    project, _ = snapshots(engine)
    project.create("good")
    engine.add(Box("o" * 12, "worker", project="other", volumes=("shop_data",)))
    engine.calls.clear()
    with pytest.raises(Conflict, match="volume shop_data is in use by running container other-worker-1, not one of the project's services: stop it first"):
        project.restore("good", force=True)
    assert not [c for c in engine.calls if c.startswith("POST")]  # refused before stopping anything
    engine.boxes["o" * 12].state = "exited"
    project.restore("good", force=True)


def test_copies_are_plain_volumes_and_a_removed_volume_comes_back_with_its_options() -> None:
    engine = FakeEngine()
    engine.add(Box("d" * 12, "db", volumes=("shop_cache",)))
    tmpfs = {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    engine.volume("shop_cache", {"k": "v"}, options=tmpfs)
    project, _ = snapshots(engine)
    project.create("s")
    assert engine.volumes["shop_cache.s"]["Options"] is None  # never the same device
    engine.boxes["d" * 12].state = "exited"
    del engine.volumes["shop_cache"]
    project.restore("s")
    assert engine.volumes["shop_cache"]["Options"] == tmpfs
    assert engine.volumes["shop_cache"]["data"] == {"k": "v"}


def test_an_unpause_failure_is_a_warning_and_keeps_the_snapshot(engine: FakeEngine) -> None:
    engine.fail = r"/unpause$"
    project, stream = snapshots(engine)
    assert project.create("kept").name == "kept"
    assert "shop_data.kept" in engine.volumes
    assert "WARN[0000] could not unpause shop-db-1: injected failure" in stream.getvalue()
