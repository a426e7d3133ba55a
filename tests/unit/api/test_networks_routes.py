"""The /networks routes against EngineNetworks over a NetworkManager whose kernel steps
are recorded (tests/unit/network): Docker's documents, statuses and prune."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from estiba.daemon.networks_backend import EngineNetworks
from estiba.engine.events import EventBus
from estiba.errors import NotFound
from estiba.network import EndpointRequest, NetworkManager, NetworkOptions, NetworkStore
from tests.unit.network.test_manager import RecordingKernel


class Record:
    def __init__(self, cid: str, name: str, running: bool) -> None:
        self.id, self.name, self.running, self.labels = cid, name, running, {}


class Containers:
    def __init__(self, *records: Record) -> None:
        self.records = {r.id: r for r in records}

    def get(self, ref: str) -> Record:
        for record in self.records.values():
            if ref in (record.id, record.name):
                return record
        raise NotFound(f"No such container: {ref}")

    def list(self, all: bool = False) -> list[Record]:  # noqa: A002 - the store's spelling
        return list(self.records.values())


@pytest.fixture
def wired(api, tmp_path: Path):
    store = NetworkStore(tmp_path / "networks.db")
    manager = NetworkManager(store, NetworkOptions(tmp_path / "netns", default_bridge="estiba9", table="tt"),
                             kernel=RecordingKernel(), nft_apply=lambda script: None,
                             routes=lambda: [(IPv4Network("10.0.0.0/8"), "eth0")])
    manager.restore()
    web = Record("w" * 64, "web", True)
    api.backends = dataclasses.replace(
        api.backends, networks=EngineNetworks(manager, Containers(web, Record("s" * 64, "stopped", False)), EventBus()))
    yield api, manager, tmp_path
    store.close()


def test_default_networks_are_listed(wired):
    api, _, _ = wired
    reply = api.run(lambda c: c.get("/v1.41/networks"))
    assert reply.status == 200
    assert sorted(n["Name"] for n in reply.json) == ["bridge", "host", "none"]
    bridge = next(n for n in reply.json if n["Name"] == "bridge")
    assert bridge["IPAM"]["Config"] == [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]
    assert bridge["Scope"] == "local" and bridge["Driver"] == "bridge"


def test_create_inspect_conflict_connect_and_remove(wired):
    api, manager, tmp = wired

    async def scenario(c):
        body = {"Name": "n1", "Internal": True, "Labels": {"a": "b"},
                "IPAM": {"Config": [{"Subnet": "10.99.0.0/24", "IPRange": "10.99.0.128/25"}]}}
        created = await c.post("/v1.41/networks/create", json=body)
        again = await c.post("/v1.41/networks/create", json=body)
        manager.setup("w" * 64, tmp / "netns" / "w", [EndpointRequest("n1", aliases=("x",))], hostname="w")
        inspected = await c.get("/v1.41/networks/n1")
        busy = await c.delete("/v1.41/networks/n1")
        stopped = await c.post("/v1.41/networks/n1/connect", json={"Container": "stopped"})
        predefined = await c.delete("/v1.41/networks/bridge")
        manager.teardown("w" * 64)
        removed = await c.delete("/v1.41/networks/" + created.json["Id"][:6])
        missing = await c.get("/v1.41/networks/n1")
        return created, again, inspected, busy, stopped, predefined, removed, missing

    created, again, inspected, busy, stopped, predefined, removed, missing = api.run(scenario)
    assert created.status == 201 and len(created.json["Id"]) == 64 and created.json["Warning"] == ""
    assert again.status == 409
    doc = inspected.json
    assert doc["Internal"] is True and doc["Labels"] == {"a": "b"}
    assert doc["IPAM"]["Config"] == [{"Subnet": "10.99.0.0/24", "Gateway": "10.99.0.1", "IPRange": "10.99.0.128/25"}]
    assert doc["Containers"]["w" * 64]["IPv4Address"] == "10.99.0.129/24"
    assert doc["Containers"]["w" * 64]["Name"] == "web"
    assert busy.status == 409 and "active endpoints" in busy.message
    assert stopped.status == 200  # remembered for its next start
    assert predefined.status == 403
    assert removed.status == 204 and missing.status == 404


def test_prune_removes_unused_networks_and_answers_names(wired):
    api, _, _ = wired

    async def scenario(c):
        await c.post("/v1.41/networks/create", json={"Name": "keep", "Labels": {"k": "1"}})
        await c.post("/v1.41/networks/create", json={"Name": "gone"})
        pruned = await c.post('/v1.41/networks/prune?filters={"label!":["k"]}')
        listed = await c.get("/v1.41/networks")
        return pruned, listed

    pruned, listed = api.run(scenario)
    assert pruned.json == {"NetworksDeleted": ["gone"]}
    assert "keep" in [n["Name"] for n in listed.json]
