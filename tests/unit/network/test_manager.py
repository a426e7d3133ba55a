"""NetworkManager's decisions, with a recording kernel and a captured ruleset: no root."""

from __future__ import annotations

import socket
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from estiba.errors import Conflict, Forbidden, InvalidArgument, NotFound
from estiba.network import EndpointRequest, NetworkManager, NetworkOptions, NetworkStore
from estiba.network.model import MTU_OPTION, parse_mtu
from estiba.network.ports import parse_port_bindings


class RecordingKernel:
    """The bridge module's steps, recorded; the state they would make, kept."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.links: set[str] = set()
        self.netns: set[str] = set()
        self.mtus: dict[str, int] = {}  # interface -> the MTU it was given

    def ensure_bridge(self, name, gateway, owner="", *, mtu):
        self.calls.append(("ensure_bridge", name))
        self.mtus[name] = mtu
        self.links.add(name)

    def delete_bridge(self, name):
        self.delete_link(name)

    def delete_link(self, name):
        self.calls.append(("delete_link", name))
        self.links.discard(name)

    def create_netns(self, path):
        self.netns.add(str(path))

    def remove_netns(self, path):
        self.netns.discard(str(path))

    def attach_endpoint(self, netns_path, *, bridge, veth, ifname, address, mac, gateway, mtu):
        self.calls.append(("attach", (bridge, veth, ifname, str(address), mac, str(gateway))))
        self.mtus[veth] = mtu
        self.links.add(veth)


@pytest.fixture
def made(tmp_path: Path):
    kernel = RecordingKernel()
    scripts: list[str] = []
    routes = [(IPv4Network("172.17.0.0/16"), "docker0")]
    store = NetworkStore(tmp_path / "networks.db")
    manager = NetworkManager(
        store, NetworkOptions(tmp_path / "netns", default_bridge="estiba9", table="tt"),
        kernel=kernel, nft_apply=scripts.append, routes=lambda: routes,
    )
    manager.restore()
    yield manager, kernel, scripts, tmp_path
    manager.close()
    store.close()


def test_restore_makes_the_default_bridge_clear_of_host_routes(made):
    manager, kernel, scripts, _ = made
    bridge = manager.network("bridge")
    assert bridge.bridge == "estiba9" and str(bridge.subnet) == "172.18.0.0/16"
    assert "estiba9" in kernel.links and 'oifname != "estiba9" masquerade' in scripts[-1]


def test_setup_gives_addresses_macs_routes_and_etc_files(made):
    manager, kernel, scripts, tmp = made
    n1 = manager.create_network("n1")
    result = manager.setup(
        "c" * 64, tmp / "netns" / "c", [EndpointRequest("n1", aliases=("web",))],
        hostname="box", names=("cname",), extra_hosts=["db:10.0.0.9"], dns_search=["corp"],
    )
    endpoint = result.endpoints[0]
    assert str(endpoint.ip) == "172.19.0.2" and endpoint.mac == "02:42:ac:13:00:02"
    assert ("attach", (n1.bridge, endpoint.veth, "eth0", "172.19.0.2/16", endpoint.mac, "172.19.0.1")) in kernel.calls
    assert result.resolv_conf == "nameserver 172.19.0.1\nsearch corp\n"
    assert "10.0.0.9\tdb\n" in result.hosts and result.hosts.endswith("172.19.0.2\tbox\n")
    manager.teardown("c" * 64)
    assert kernel.netns == set() and endpoint.veth not in kernel.links
    assert manager.endpoints() == []


def test_default_bridge_has_no_embedded_dns(made):
    manager, _, _, tmp = made
    result = manager.setup("d" * 64, tmp / "netns" / "d", [], hostname="h")
    assert "172.18.0.1" not in result.resolv_conf


def test_a_taken_port_undoes_everything(made):
    manager, kernel, scripts, tmp = made
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        before = (set(kernel.links), len(scripts))
        with pytest.raises(Conflict, match=f"Bind for 0.0.0.0:{port} failed"):
            manager.setup("e" * 64, tmp / "netns" / "e", [], hostname="h",
                          port_bindings={"80/tcp": [{"HostPort": str(port)}]})
    assert (set(kernel.links), len(scripts)) == before
    assert kernel.netns == set() and manager.endpoints() == [] and manager.store.sandboxes() == {}


def test_published_ports_become_dnat_rules_and_go_at_teardown(made):
    manager, _, scripts, tmp = made
    result = manager.setup("f" * 64, tmp / "netns" / "f", [], hostname="h",
                           port_bindings={"8080/tcp": [{"HostPort": ""}]})
    chosen = result.ports[0].host_port
    assert chosen > 1024
    assert f"tcp dport {chosen} dnat to 172.18.0.2:8080" in scripts[-1]
    manager.teardown("f" * 64)
    assert "dnat to" not in scripts[-1]


def test_remove_refuses_attached_and_predefined_networks(made):
    manager, _, _, tmp = made
    manager.create_network("n1")
    manager.setup("g" * 64, tmp / "netns" / "g", [EndpointRequest("n1")], hostname="h")
    with pytest.raises(Conflict, match="active endpoints"):
        manager.remove_network("n1")
    with pytest.raises(Forbidden):
        manager.remove_network("bridge")
    manager.teardown("g" * 64)
    manager.remove_network("n1")
    with pytest.raises(NotFound):
        manager.network("n1")


def test_restore_drops_endpoints_of_containers_that_are_gone(made):
    manager, kernel, _, tmp = made
    manager.setup("h" * 64, tmp / "netns" / "h", [], hostname="h")
    manager.setup("i" * 64, tmp / "netns" / "i", [], hostname="i")
    manager.restore(running=lambda cid: cid.startswith("i"))
    assert [e.container_id[0] for e in manager.endpoints()] == ["i"]


def test_connect_and_disconnect_wishes_shape_the_next_start(made):
    manager, _, _, _ = made
    manager.create_network("n1")
    manager.create_network("n2")
    manager.wish("n2", "j" * 64, EndpointRequest("n2", aliases=("x",)), connected=True)
    manager.wish("bridge", "j" * 64, EndpointRequest("bridge"), connected=False)
    requests = manager.requests_for("j" * 64, [EndpointRequest("bridge"), EndpointRequest("n1")])
    names = [manager.network(r.network).name for r in requests]
    assert names == ["n1", "n2"] and requests[1].aliases == ("x",)


def test_port_bindings_parse_ranges_and_publish_all():
    parsed = parse_port_bindings(
        {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}], "53/udp": [{"HostPort": "5300-5310"}]},
        exposed=["80/tcp", "443/tcp"], publish_all=True,
    )
    assert [(b.container_port, b.proto, b.host_ip, span) for b, span in parsed] == [
        (80, "tcp", "127.0.0.1", (8080, 8080)),
        (53, "udp", "", (5300, 5310)),
        (443, "tcp", "", (0, 0)),
    ]


def test_a_port_is_published_and_unpublished_on_a_running_container(made):
    manager, _, scripts, tmp = made
    manager.setup("k" * 64, tmp / "netns" / "k", [], hostname="h")
    from estiba.network import PortBinding

    added = manager.publish("k" * 64, PortBinding(80, "tcp"))
    assert f"tcp dport {added.host_port} dnat to 172.18.0.2:80" in scripts[-1]
    with pytest.raises(Conflict):
        manager.publish("k" * 64, PortBinding(81, "tcp", "", added.host_port))
    manager.unpublish("k" * 64, added.host_port)
    assert "dnat to" not in scripts[-1]
    with pytest.raises(NotFound):
        manager.unpublish("k" * 64, added.host_port)
    with pytest.raises(Conflict, match="not running"):
        manager.publish("z" * 64, PortBinding(80))


def test_restore_removes_bridges_that_dead_daemons_left(tmp_path: Path):
    kernel = RecordingKernel()
    alive = tmp_path / "alive"
    alive.mkdir()
    (alive / "network.pid").write_text(f"{__import__('os').getpid()}\n")
    kernel.owned_bridges = lambda: [  # type: ignore[attr-defined]
        ("estiba-dead", str(tmp_path / "dead"), False),      # gone, empty: removed
        ("estiba-busy", str(tmp_path / "dead2"), True),      # gone but a veth on it: kept
        ("estiba-live", str(alive), False),                  # its daemon runs: kept
    ]
    kernel.links |= {"estiba-dead", "estiba-busy", "estiba-live"}
    scripts: list[str] = []
    store = NetworkStore(tmp_path / "networks.db")
    manager = NetworkManager(store, NetworkOptions(tmp_path / "me" / "netns", table="tt"),
                             kernel=kernel, nft_apply=scripts.append, routes=lambda: [])
    manager.restore()
    assert {"estiba-busy", "estiba-live"} <= kernel.links and "estiba-dead" not in kernel.links
    dead_table = NetworkOptions.for_exec_root(tmp_path / "dead").table
    assert any(f"delete table inet {dead_table}" in s for s in scripts)
    store.close()


def _restarted(manager: NetworkManager, kernel: RecordingKernel, scripts: list[str], **changes) -> NetworkManager:
    """The same store under a daemon started again with other options."""
    from dataclasses import replace

    again = NetworkManager(manager.store, replace(manager.options, **changes), kernel=kernel,
                           nft_apply=scripts.append, routes=manager.routes)
    again.restore(running=lambda cid: True)
    return again


def test_every_bridge_and_veth_gets_the_daemons_mtu_unless_the_network_has_its_own(made):
    manager, kernel, _, tmp = made
    assert manager.network("bridge").options[MTU_OPTION] == "65535"
    plain = manager.create_network("plain")
    jumbo = manager.create_network("jumbo", options={MTU_OPTION: "9000"})
    assert MTU_OPTION not in plain.options  # dockerd shows only what was given
    assert jumbo.options[MTU_OPTION] == "9000"
    assert (kernel.mtus["estiba9"], kernel.mtus[plain.bridge], kernel.mtus[jumbo.bridge]) == (65535, 65535, 9000)
    result = manager.setup("m" * 64, tmp / "netns" / "m",
                           [EndpointRequest("bridge"), EndpointRequest("plain"), EndpointRequest("jumbo")],
                           hostname="h")
    assert [kernel.mtus[e.veth] for e in result.endpoints] == [65535, 65535, 9000]


@pytest.mark.parametrize("value", ["abc", "0", "67", "65536", "", "1500.0", "-1", " 1500", True])
def test_a_bad_mtu_option_is_one_line_and_makes_nothing(made, value):
    manager, kernel, scripts, _ = made
    before = (list(kernel.calls), len(scripts), [n.name for n in manager.networks()])
    with pytest.raises(InvalidArgument) as caught:
        manager.create_network("bad", options={MTU_OPTION: value})
    message = str(caught.value)
    assert message.startswith("invalid MTU ") and "\n" not in message
    assert message.endswith(f"in option {MTU_OPTION}: give a number from 68 to 65535")
    assert (kernel.calls, len(scripts), [n.name for n in manager.networks()]) == before


def test_the_bad_mtu_message_names_the_value_the_option_and_the_range(made):
    with pytest.raises(InvalidArgument, match=f'^invalid MTU "abc" in option {MTU_OPTION}: '
                                              "give a number from 68 to 65535$"):
        made[0].create_network("bad", options={MTU_OPTION: "abc"})


def test_a_daemon_mtu_change_remakes_an_empty_default_network_and_keeps_a_busy_one(made):
    manager, kernel, scripts, tmp = made
    manager.setup("p" * 64, tmp / "netns" / "p", [], hostname="h")
    kept = _restarted(manager, kernel, scripts, mtu=1500)
    assert kept.network("bridge").options[MTU_OPTION] == "65535" and kernel.mtus["estiba9"] == 65535
    kept.teardown("p" * 64)
    remade = _restarted(kept, kernel, scripts, mtu=1500)
    assert remade.network("bridge").options[MTU_OPTION] == "1500" and kernel.mtus["estiba9"] == 1500
    result = remade.setup("q" * 64, tmp / "netns" / "q", [], hostname="h")
    assert kernel.mtus[result.endpoints[0].veth] == 1500


def test_user_networks_without_their_own_mtu_follow_the_daemons(made):
    manager, kernel, scripts, _ = made
    plain = manager.create_network("plain")
    jumbo = manager.create_network("jumbo", options={MTU_OPTION: "9000"})
    _restarted(manager, kernel, scripts, mtu=1500)
    assert (kernel.mtus[plain.bridge], kernel.mtus[jumbo.bridge]) == (1500, 9000)


def test_parse_mtu_takes_ints_and_digit_strings_in_range():
    assert parse_mtu(68, "x") == 68 and parse_mtu("65535", "x") == 65535
    with pytest.raises(InvalidArgument, match='^invalid MTU "1500" in x: '):
        parse_mtu("1500", "x", digits=False)  # daemon.json's mtu is a number, as dockerd's
    with pytest.raises(InvalidArgument, match="^invalid MTU true in x: "):
        parse_mtu(True, "x")
