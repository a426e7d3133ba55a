"""The volume routes and Estiba's own: bodies and parameters become the backend's typed
calls, answers take the spec's shapes, and API 1.41 clients prune every unused volume."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from estiba.api.types import Filters, ImageDeleteItem, PruneReport, VolumeCreateOptions
from estiba.errors import Conflict


class FakeVolumes:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def list_volumes(self, filters: Filters) -> list[dict]:
        self.calls.append(("list", filters))
        return [{"Name": "a"}]

    async def create_volume(self, options: VolumeCreateOptions) -> dict:
        self.calls.append(("create", options))
        return {"Name": options.name or "anon"}

    async def inspect_volume(self, name: str) -> dict:
        return {"Name": name}

    async def remove_volume(self, name: str, *, force: bool) -> None:
        raise Conflict(f"remove {name}: volume is in use - [abc]")

    async def prune_volumes(self, filters: Filters) -> PruneReport:
        self.calls.append(("prune", filters))
        return PruneReport((ImageDeleteItem(deleted="old"),), 42)

    async def clone_volume(self, name: str, new_name: str) -> dict:
        self.calls.append(("clone", (name, new_name)))
        return {"Name": new_name}

    async def rename_volume(self, name: str, new_name: str) -> dict:
        return {"Name": new_name}

    async def export_volume(self, name: str):  # noqa: ANN201
        async def chunks():  # noqa: ANN202
            yield b"tar bytes"

        return chunks()

    async def import_volume(self, name: str, data) -> dict:  # noqa: ANN001
        body = b"".join([chunk async for chunk in data])
        self.calls.append(("import", body))
        return {"Name": name}


def _with_volumes(api: Any) -> FakeVolumes:
    volumes = FakeVolumes()
    api.backends = dataclasses.replace(api.backends, volumes=volumes)
    return volumes


def test_create_list_and_prune(api: Any) -> None:
    volumes = _with_volumes(api)
    body = {"Name": "data", "Driver": "local", "DriverOpts": {"type": "tmpfs"}, "Labels": {"a": "b"}}

    async def scenario(client):  # noqa: ANN001, ANN202
        created = await client.post("/v1.41/volumes/create", json=body)
        listed = await client.get('/v1.41/volumes?filters={"dangling":["true"]}')
        pruned = await client.post("/v1.41/volumes/prune")
        return created, listed, pruned

    created, listed, pruned = api.run(scenario)
    assert created.status == 201 and created.json == {"Name": "data"}
    assert volumes.calls[0] == ("create", VolumeCreateOptions("data", "local", {"type": "tmpfs"}, {"a": "b"}))
    assert listed.json == {"Volumes": [{"Name": "a"}], "Warnings": None}
    assert volumes.calls[1] == ("list", {"dangling": ("true",)})
    assert pruned.json == {"VolumesDeleted": ["old"], "SpaceReclaimed": 42}
    assert volumes.calls[2] == ("prune", {"all": ("true",)})  # dockerd's rule below API 1.42


def test_an_explicit_all_filter_is_kept(api: Any) -> None:
    volumes = _with_volumes(api)
    filters = json.dumps({"all": ["false"]})
    api.run(lambda client: client.post(f"/v1.41/volumes/prune?filters={filters}"))
    assert volumes.calls == [("prune", {"all": ("false",)})]


def test_in_use_is_409_and_no_backend_is_501(api: Any) -> None:
    _with_volumes(api)
    reply = api.run(lambda client: client.delete("/v1.41/volumes/data"))
    assert reply.status == 409 and "volume is in use" in reply.message
    api.backends = dataclasses.replace(api.backends, volumes=None)
    assert api.run(lambda client: client.get("/v1.41/volumes")).status == 501


def test_estiba_extensions(api: Any) -> None:
    volumes = _with_volumes(api)

    async def scenario(client):  # noqa: ANN001, ANN202
        cloned = await client.post("/estiba/volumes/data/clone?name=copy")
        exported = await client.get("/estiba/volumes/data/export")
        imported = await client.request("PUT", "/estiba/volumes/data/import", data=b"a tar")
        return cloned, exported, imported

    cloned, exported, imported = api.run(scenario)
    assert cloned.status == 201 and ("clone", ("data", "copy")) in volumes.calls
    assert exported.body == b"tar bytes"
    assert imported.status == 200 and ("import", b"a tar") in volumes.calls
