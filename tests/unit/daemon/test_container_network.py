"""The engine's side of networking: modes, remembered endpoints, inspect and ps documents,
over a NetworkManager with a recording kernel."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pytest

from estiba.daemon.container_network import ContainerNetwork
from estiba.engine.states import State
from estiba.engine.store import ContainerRecord
from estiba.errors import InvalidArgument, NotFound
from estiba.network import NetworkManager, NetworkOptions, NetworkStore
from tests.unit.network.test_manager import RecordingKernel


def record(cid: str, mode: str = "", *, running: bool = True, ports=None, exposed=None) -> ContainerRecord:
    host = {"NetworkMode": mode} if mode else {}
    if ports:
        host["PortBindings"] = ports
    return ContainerRecord(
        id=cid, name=f"c-{cid[0]}", image_id="sha256:" + "0" * 64, image_ref="busybox",
        created="2026-01-01T00:00:00Z", config={"Image": "busybox", "ExposedPorts": exposed or {}},
        host_config=host, state=State.RUNNING if running else State.CREATED,
    )


@pytest.fixture
def glue(tmp_path: Path):
    store = NetworkStore(tmp_path / "networks.db")
    manager = NetworkManager(store, NetworkOptions(tmp_path / "netns", default_bridge="estiba9", table="tt"),
                             kernel=RecordingKernel(), nft_apply=lambda s: None,
                             routes=lambda: [(IPv4Network("10.0.0.0/8"), "eth0")])
    manager.restore()
    yield ContainerNetwork(manager), manager
    store.close()


def test_host_and_none_are_not_ours(glue):
    network, _ = glue
    assert network.prepare(record("h" * 64, "host"), "x").namespace_paths == {}
    assert network.prepare(record("n" * 64, "none"), "x").etc_files == {}


def test_bridge_mode_gets_a_netns_files_settings_and_ps_ports(glue):
    network, manager = glue
    r = record("a" * 64, ports={"80/tcp": [{"HostPort": ""}]}, exposed={"80/tcp": {}, "443/tcp": {}})
    prepared = network.prepare(r, "a" * 12)
    assert prepared.namespace_paths == {"network": str(manager.options.netns_dir / r.id)}
    assert prepared.etc_files["hosts"].endswith("172.17.0.2\taaaaaaaaaaaa\n")
    settings = network.settings(r)
    assert settings["IPAddress"] == "172.17.0.2" and settings["Gateway"] == "172.17.0.1"
    assert settings["MacAddress"] == "02:42:ac:11:00:02"
    assert settings["Networks"]["bridge"]["IPPrefixLen"] == 16
    assert settings["Ports"]["443/tcp"] is None
    host_port = int(settings["Ports"]["80/tcp"][0]["HostPort"])
    ports = network.summary(r, {"Ports": []})["Ports"]
    assert {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": host_port, "Type": "tcp"} in ports
    assert {"PrivatePort": 443, "Type": "tcp"} in ports
    network.release(r.id)
    assert manager.endpoints() == []


def test_create_checks_the_network_and_remembers_ip_and_aliases(glue):
    network, manager = glue
    with pytest.raises(NotFound):
        network.check({"HostConfig": {"NetworkMode": "nope"}})
    manager.create_network("n1", subnet="10.5.0.0/24")
    body = {"HostConfig": {"NetworkMode": "n1"},
            "NetworkingConfig": {"EndpointsConfig": {"n1": {"IPAMConfig": {"IPv4Address": "10.5.0.9"},
                                                            "Aliases": ["db"]}}}}
    network.check(body)
    network.remember("b" * 64, body)
    network.prepare(record("b" * 64, "n1"), "b")
    endpoint = manager.endpoints(container_id="b" * 64)[0]
    assert str(endpoint.ip) == "10.5.0.9" and endpoint.aliases == ("db",)
    assert network.prepare(record("b" * 64, "n1"), "b")  # a second start reuses nothing stale
    with pytest.raises(InvalidArgument):
        network.remember("c" * 64, {"NetworkingConfig": {"EndpointsConfig": {"bridge": {"Aliases": ["x"]}}}})
    network.forget("b" * 64)
    assert manager.endpoints() == [] and manager.store.wishes("b" * 64) == []
