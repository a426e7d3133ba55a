"""POST /commit and the /estiba/containers snapshot and copy routes: parameters become the
backend's typed calls; an engine without them answers 501."""

from __future__ import annotations

from typing import Any

from estiba.api.backend import Backends
from estiba.api.types import CommitOptions, CreatedContainer


class SnapshottingEngine:
    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    async def commit_container(self, ref: str, options: CommitOptions) -> str:
        self.calls.append(("commit", (ref, options)))
        return "sha256:" + "b" * 64

    async def create_snapshot(self, ref: str, name: str, *, include_volumes: bool) -> dict:
        self.calls.append(("snapshot", (ref, name, include_volumes)))
        return {"Name": name or "snap0"}

    async def list_snapshots(self, ref: str) -> list[dict]:
        return [{"Name": "snap0"}]

    async def restore_snapshot(self, ref: str, name: str, *, force: bool) -> None:
        self.calls.append(("restore", (ref, name, force)))

    async def remove_snapshot(self, ref: str, name: str) -> None:
        self.calls.append(("remove", (ref, name)))

    async def copy_container(self, ref: str, new_name: str, *, snapshot: str, include_volumes: bool) -> CreatedContainer:
        self.calls.append(("copy", (ref, new_name, snapshot, include_volumes)))
        return CreatedContainer("c" * 64)


def test_commit_parameters(api: Any) -> None:
    engine = SnapshottingEngine(api.engine)
    api.backends = Backends(engine, engine, api.engine, api.images)  # type: ignore[arg-type]
    path = "/v1.41/commit?container=web&repo=mine&tag=1&comment=hi&author=me&pause=0&changes=CMD+ls&changes=ENV+A%3D1"
    reply = api.run(lambda client: client.post(path))
    assert reply.status == 201 and reply.json == {"Id": "sha256:" + "b" * 64}
    ref, options = engine.calls[0][1]
    assert ref == "web"
    assert options == CommitOptions("mine", "1", "hi", "me", False, ("CMD ls", "ENV A=1"), None)


def test_snapshot_routes(api: Any) -> None:
    engine = SnapshottingEngine(api.engine)
    api.backends = Backends(engine, engine, api.engine, api.images)  # type: ignore[arg-type]

    async def scenario(client):  # noqa: ANN001, ANN202
        return [
            await client.post("/estiba/containers/web/snapshots?name=s1&volumes=1"),
            await client.get("/estiba/containers/web/snapshots"),
            await client.post("/estiba/containers/web/snapshots/s1/restore?force=1"),
            await client.delete("/estiba/containers/web/snapshots/s1"),
            await client.post("/estiba/containers/web/copy?name=web2&snapshot=s1"),
        ]

    created, listed, restored, removed, copied = api.run(scenario)
    assert created.status == 201 and listed.json == [{"Name": "snap0"}]
    assert restored.status == removed.status == 204
    assert copied.status == 201 and copied.json["Id"] == "c" * 64
    assert engine.calls == [
        ("snapshot", ("web", "s1", True)), ("restore", ("web", "s1", True)), ("remove", ("web", "s1")),
        ("copy", ("web", "web2", "s1", False)),
    ]


def test_engines_without_them_answer_501(api: Any) -> None:
    assert api.run(lambda client: client.post("/commit?container=web")).status == 501
    assert api.run(lambda client: client.get("/estiba/containers/web/snapshots")).status == 501
