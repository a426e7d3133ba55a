"""Bridge networks on the real kernel: interfaces, namespaces and rules made and removed,
reachability by address and by name, isolation, --internal, NAT, published ports."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from pathlib import Path

import pytest

from estiba.errors import Conflict
from estiba.network import EndpointRequest
from tests.integration.network.conftest import (
    Manager, fetch, host_address, in_ns, links, our_ruleset, server, snapshot,
)

pytestmark = pytest.mark.timeout(120)
A, B, C = "a" * 64, "b" * 64, "c" * 64


def test_bridge_veth_and_netns_come_and_go(net: Manager):
    before = snapshot(net.options.netns_dir)
    network = net.manager.create_network("n1")
    result = net.manager.setup(A, net.netns(A), [EndpointRequest("n1")], hostname="a",
                               port_bindings={"80/tcp": [{"HostPort": ""}]})
    endpoint = result.endpoints[0]
    assert {network.bridge, endpoint.veth} <= links()
    assert (net.options.netns_dir / A).exists()
    inside = in_ns(net.netns(A), "ip", "-br", "addr", "show", "eth0").stdout
    assert f"{endpoint.ip}/16" in inside
    assert "02:42:" in in_ns(net.netns(A), "ip", "link", "show", "eth0").stdout
    assert f"default via {network.gateway}" in in_ns(net.netns(A), "ip", "route").stdout
    assert "UP" in in_ns(net.netns(A), "ip", "-br", "link", "show", "lo").stdout
    assert any("dnat" in str(rule) for rule in our_ruleset())
    assert {network.bridge, endpoint.veth} <= snapshot(net.options.netns_dir)["links"]
    net.manager.teardown(A)
    net.manager.remove_network("n1")
    after = snapshot(net.options.netns_dir)
    assert after == before
    assert not {network.bridge, endpoint.veth} & links()


def test_two_namespaces_on_a_network_reach_each_other_by_address_and_name(net: Manager, tmp_path: Path):
    net.manager.create_network("n1")
    a = net.manager.setup(A, net.netns(A), [EndpointRequest("n1", aliases=("web",))],
                          hostname="a", names=("alpha",))
    b = net.manager.setup(B, net.netns(B), [EndpointRequest("n1")], hostname="b", names=("beta",))
    gateway = b.resolv_conf.split()[1]
    assert in_ns(net.netns(B), "busybox", "ping", "-c1", "-W2", str(a.endpoints[0].ip)).returncode == 0
    for name in ("alpha", "web", A[:12]):
        answer = in_ns(net.netns(B), "busybox", "nslookup", name, gateway)
        assert str(a.endpoints[0].ip) in answer.stdout, answer
    with server(net.netns(A), 8080, tmp_path / "www"):
        resolved = in_ns(net.netns(B), "busybox", "nslookup", "web", gateway).stdout
        ip = resolved.strip().split()[-1]
        got = in_ns(net.netns(B), "busybox", "wget", "-q", "-O", "-", f"http://{ip}:8080/")
        assert "hello from the namespace" in got.stdout


def test_different_networks_cannot_reach_each_other(net: Manager):
    net.manager.create_network("n1")
    net.manager.create_network("n2")
    a = net.manager.setup(A, net.netns(A), [EndpointRequest("n1")], hostname="a")
    net.manager.setup(B, net.netns(B), [EndpointRequest("n2")], hostname="b")
    assert in_ns(net.netns(B), "busybox", "ping", "-c1", "-W1", str(a.endpoints[0].ip)).returncode != 0


def test_nat_masquerades_outbound_and_internal_has_no_way_out(net: Manager, outside, tmp_path: Path):
    out_ns, host_side, far = outside
    net.manager.create_network("n1")
    net.manager.create_network("locked", internal=True)
    net.manager.setup(A, net.netns(A), [EndpointRequest("n1")], hostname="a")
    net.manager.setup(B, net.netns(B), [EndpointRequest("locked")], hostname="b")
    with server(out_ns, 8000, tmp_path / "far") as log:
        got = in_ns(net.netns(A), "busybox", "wget", "-q", "-O", "-", f"http://{far}:8000/")
        assert "hello from the namespace" in got.stdout
        assert log.read_text().splitlines()[-1].startswith(host_side + " ")
        locked = in_ns(net.netns(B), "sh", "-c", f"timeout 3 busybox wget -q -O - http://{far}:8000/")
        assert locked.returncode != 0
        assert in_ns(net.netns(B), "ip", "route").stdout.find("default") == -1


def test_published_port_from_loopback_host_address_and_another_host(net: Manager, outside, tmp_path: Path):
    out_ns, host_side, far = outside
    port = _free_port()
    net.manager.setup(A, net.netns(A), [], hostname="a",
                      port_bindings={"8080/tcp": [{"HostPort": str(port)}]})
    with server(net.netns(A), 8080, tmp_path / "www") as log:
        assert "hello from the namespace" in fetch("127.0.0.1", port)
        assert "hello from the namespace" in fetch(host_address(), port)
        got = in_ns(out_ns, "busybox", "wget", "-q", "-O", "-", f"http://{host_side}:{port}/")
        assert "hello from the namespace" in got.stdout
        # The client's own address arrives, not one of the host's.
        assert log.read_text().splitlines()[-1].startswith(far + " ")


def test_a_taken_host_port_is_a_clear_error_and_leaves_nothing(net: Manager):
    net.manager.create_network("n1")
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        before = snapshot(net.options.netns_dir)
        with pytest.raises(Conflict, match=f"Bind for 0.0.0.0:{port} failed"):
            net.manager.setup(C, net.netns(C), [EndpointRequest("n1")], hostname="c",
                              port_bindings={"80/tcp": [{"HostPort": str(port)}]})
        time.sleep(0.1)
        assert snapshot(net.options.netns_dir) == before
        assert net.manager.endpoints() == []
        network_id = net.manager.network("n1").id
        assert "ve" + hashlib.sha256(f"{network_id}{C}".encode()).hexdigest()[:11] not in links()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        return probe.getsockname()[1]


def test_an_admins_own_drop_wins_over_our_published_port(net: Manager, outside, tmp_path: Path):
    """moby#22054: a drop in a table of the administrator's stops a published port."""
    import subprocess

    out_ns, host_side, _ = outside
    port = _free_port()
    net.manager.setup(A, net.netns(A), [], hostname="a", port_bindings={"8080/tcp": [{"HostPort": str(port)}]})
    admin = f"{net.options.table}-admin"
    rules = (f"table inet {admin} {{\n chain forward {{\n"
             "  type filter hook forward priority 0; policy accept;\n"
             f"  ct status dnat meta l4proto tcp ct original proto-dst {port} ip saddr 10.231.0.0/24 drop\n"
             " }\n}\n")
    with server(net.netns(A), 8080, tmp_path / "www"):
        subprocess.run(["nft", "-f", "-"], input=rules, text=True, check=True)
        try:
            blocked = in_ns(out_ns, "sh", "-c", f"timeout 3 busybox wget -q -O - http://{host_side}:{port}/")
            assert blocked.returncode != 0
            assert "hello from the namespace" in fetch("127.0.0.1", port)  # not forwarded: allowed
        finally:
            subprocess.run(["nft", "delete", "table", "inet", admin], check=True)
        got = in_ns(out_ns, "busybox", "wget", "-q", "-O", "-", f"http://{host_side}:{port}/")
        assert "hello from the namespace" in got.stdout


def test_a_bridge_name_of_an_existing_interface_is_refused(net: Manager):
    with pytest.raises(Conflict, match="already exists"):
        net.manager.create_network("hijack", options={"com.docker.network.bridge.name": "lo"})
    assert [n.name for n in net.manager.networks()] == ["bridge"]


def mtu_of(name: str) -> int:
    return int(Path(f"/sys/class/net/{name}/mtu").read_text())


def test_bridges_and_both_ends_of_each_veth_get_the_networks_mtu(net: Manager):
    """65535 (the daemon's default) unless the network has its own com.docker.network.driver.mtu."""
    plain = net.manager.create_network("plain")
    jumbo = net.manager.create_network("jumbo", options={"com.docker.network.driver.mtu": "9000"})
    result = net.manager.setup(A, net.netns(A), [EndpointRequest("bridge"), EndpointRequest("plain"),
                                                 EndpointRequest("jumbo")], hostname="a")
    default = net.manager.network("bridge")
    assert [mtu_of(n.bridge) for n in (default, plain, jumbo)] == [65535, 65535, 9000]
    assert [mtu_of(e.veth) for e in result.endpoints] == [65535, 65535, 9000]
    # nsenter keeps the host's /sys: ask netlink inside.
    inside = [json.loads(in_ns(net.netns(A), "ip", "-j", "link", "show", f"eth{i}").stdout)[0]["mtu"]
              for i in range(3)]
    assert inside == [65535, 65535, 9000]
    # Still so once the daemon brings the bridges up again at its start, and once the last
    # port is gone (the kernel keeps an MTU that was set, not one that was merely given).
    net.manager.restore(running=lambda cid: True)
    assert [mtu_of(n.bridge) for n in (default, plain, jumbo)] == [65535, 65535, 9000]
    net.manager.teardown(A)
    assert [mtu_of(n.bridge) for n in (default, plain, jumbo)] == [65535, 65535, 9000]


def test_a_bad_mtu_option_makes_no_bridge(net: Manager):
    from estiba.errors import InvalidArgument

    before = (snapshot(net.options.netns_dir), links())
    with pytest.raises(InvalidArgument, match='^invalid MTU "70000" in option com.docker.network.driver.mtu: '
                                              "give a number from 68 to 65535$"):
        net.manager.create_network("bad", options={"com.docker.network.driver.mtu": "70000"})
    assert (snapshot(net.options.netns_dir), links()) == before
    assert [n.name for n in net.manager.networks()] == ["bridge"]
