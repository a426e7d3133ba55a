"""Networking end to end with the real docker CLI against a test estibad: user networks
with names, isolation, published ports from the host, `port`, -P, 409 on rm, a taken
port, a daemon killed and started again, and nothing of ours left at the end."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import time

import pytest

from estiba.network import NetworkOptions
from tests.integration.daemon.conftest import Estibad
from tests.integration.network.conftest import fetch, host_address, links, our_links

pytestmark = pytest.mark.timeout(180)

MADE_BRIDGES: set[str] = set()
WEB = "mkdir -p /www && echo hello-estiba > /www/index.html && exec httpd -f -p 8080 -h /www"


def wget(daemon: Estibad, network: str, url: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return daemon.docker("run", "--rm", "--network", network, "busybox", "sh", "-c",
                         f"timeout 5 wget -q -O - {url}; exit $?", check=check)


def answer(port: int, host: str = "127.0.0.1", timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fetch(host, port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def ours(daemon: Estibad) -> NetworkOptions:
    return NetworkOptions.for_exec_root(daemon.exec_root)


def our_rules(daemon: Estibad) -> str:
    table = ours(daemon).table
    out = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    return "\n".join(chunk for chunk in out.split("\ntable ") if chunk.split(" ")[1].startswith(table))


def create(daemon: Estibad, name: str) -> None:
    network_id = daemon.docker("network", "create", name).stdout.decode().strip()
    MADE_BRIDGES.add(f"br-{network_id[:12]}")


def test_containers_on_a_user_network_find_each_other_by_name_and_alias(busybox: Estibad):
    d = busybox
    create(d, "n1")
    d.docker("run", "-d", "--name", "web", "--network", "n1", "--network-alias", "www",
             "busybox", "sh", "-c", WEB)
    for name in ("web", "www"):
        assert b"hello-estiba" in wget(d, "n1", f"http://{name}:8080/").stdout
    ping = d.docker("run", "--rm", "--network", "n1", "busybox", "ping", "-c1", "-W2", "web")
    assert b"1 packets received" in ping.stdout
    inspected = json.loads(d.docker("inspect", "web").stdout)[0]["NetworkSettings"]["Networks"]["n1"]
    assert inspected["IPAddress"].startswith("172.") and inspected["MacAddress"].startswith("02:42:")
    # Another network cannot reach it; the default bridge has no names.
    create(d, "n2")
    assert wget(d, "n2", f"http://{inspected['IPAddress']}:8080/", check=False).returncode != 0
    assert wget(d, "bridge", "http://web:8080/", check=False).returncode != 0
    # container:<name> shares web's stack: its server is on 127.0.0.1 there.
    shared = d.docker("run", "--rm", "--network", "container:web", "busybox", "sh", "-c",
                      "timeout 5 wget -q -O - http://127.0.0.1:8080/; exit $?")
    assert b"hello-estiba" in shared.stdout
    # In use: 409.
    refused = d.docker("network", "rm", "n1", check=False)
    assert refused.returncode != 0 and b"active endpoints" in refused.stderr
    d.docker("rm", "-f", "web")
    d.docker("network", "rm", "n1", "n2")


def test_connect_and_disconnect_a_running_container(busybox: Estibad):
    d = busybox
    create(d, "n4")
    d.docker("run", "-d", "--name", "late", "busybox", "sleep", "120")
    d.docker("network", "connect", "--alias", "joined", "n4", "late")
    ping = ["run", "--rm", "--network", "n4", "busybox", "ping", "-c1", "-W2"]
    assert b"1 packets received" in d.docker(*ping, "joined").stdout
    networks = json.loads(d.docker("inspect", "late").stdout)[0]["NetworkSettings"]["Networks"]
    assert set(networks) == {"bridge", "n4"}
    d.docker("network", "disconnect", "n4", "late")
    assert d.docker(*ping, "joined", check=False).returncode != 0
    d.docker("rm", "-f", "late")
    d.docker("network", "rm", "n4")


def test_published_ports_port_and_publish_all(busybox: Estibad):
    d = busybox
    d.docker("run", "-d", "--name", "pub", "-p", "18080:8080", "busybox", "sh", "-c", WEB)
    assert "hello-estiba" in answer(18080)
    assert "hello-estiba" in answer(18080, host_address())
    assert d.docker("port", "pub").stdout.decode().splitlines() == ["8080/tcp -> 0.0.0.0:18080"]
    assert d.docker("port", "pub", "8080").stdout.decode().strip() == "0.0.0.0:18080"
    ps = d.docker("ps", "--filter", "name=pub", "--format", "{{.Ports}}").stdout.decode().strip()
    assert ps == "0.0.0.0:18080->8080/tcp"
    # Beyond docker: one more port on the running container, then gone again.
    assert d.estiba("port", "add", "pub", "18082:8080").stdout.decode() == "8080/tcp -> 0.0.0.0:18082\n"
    assert "hello-estiba" in answer(18082)
    d.estiba("port", "rm", "pub", "18082")
    with pytest.raises(OSError):
        fetch("127.0.0.1", 18082, timeout=2)
    d.docker("run", "-d", "--name", "all", "--expose", "8080", "-P", "busybox", "sh", "-c", WEB)
    chosen = d.docker("port", "all", "8080/tcp").stdout.decode().strip()
    assert chosen.startswith("0.0.0.0:")
    assert "hello-estiba" in answer(int(chosen.rsplit(":", 1)[1]))
    d.docker("rm", "-f", "pub", "all")
    with pytest.raises(OSError):
        fetch("127.0.0.1", 18080, timeout=2)


def test_the_seeds_dserver02_shows_its_port_in_both_clis(busybox: Estibad):
    d = busybox
    d.estiba("run", "--name", "dserver02", "-d", "-p", "2222:22", "busybox", "sleep", "120")
    for ps in (d.docker, d.estiba):
        shown = ps("ps", "--filter", "name=dserver02", "--format", "{{.Ports}}").stdout.decode().strip()
        assert shown == "0.0.0.0:2222->22/tcp"
    table = d.estiba("ps").stdout.decode()
    assert "0.0.0.0:2222->22/tcp" in table and "PORTS" in table
    assert d.estiba("port", "dserver02").stdout.decode() == "22/tcp -> 0.0.0.0:2222\n"
    d.docker("rm", "-f", "dserver02")


def test_a_taken_host_port_fails_the_start_and_leaves_nothing(busybox: Estibad):
    d = busybox
    before = our_links(str(d.exec_root))
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        failed = d.docker("run", "-d", "--name", "clash", "-p", f"{port}:80", "busybox", "sleep", "60",
                          check=False)
    assert failed.returncode != 0 and b"failed" in failed.stderr and str(port).encode() in failed.stderr
    assert our_links(str(d.exec_root)) == before
    assert f"dport {port}" not in our_rules(d)
    d.docker("rm", "-f", "clash", check=False)


def test_a_restarted_daemon_keeps_ports_and_names(busybox: Estibad):
    d = busybox
    create(d, "n3")
    d.docker("run", "-d", "--name", "kept", "--network", "n3", "-p", "18081:8080", "busybox", "sh", "-c", WEB)
    assert "hello-estiba" in answer(18081)
    d.kill()
    d.start()
    assert "hello-estiba" in answer(18081)
    assert b"hello-estiba" in wget(d, "n3", "http://kept:8080/").stdout
    d.docker("rm", "-f", "kept")
    d.docker("network", "rm", "n3")


def _network_state(d: Estibad) -> tuple:
    """What the daemon keeps for its networks on the host and in its database."""
    options = ours(d)
    db = sqlite3.connect(str(d.data_root / "networks.db"))
    try:
        rows = tuple(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("endpoints", "ports", "sandboxes"))
    finally:
        db.close()
    netns = sorted(p.name for p in options.netns_dir.glob("*")) if options.netns_dir.exists() else []
    return our_rules(d), sorted(our_links(str(d.exec_root))), netns, rows


def test_a_hundred_containers_on_a_user_network_leave_it_as_it_was(busybox: Estibad):
    import docker

    d = busybox
    create(d, "loop100")
    before = _network_state(d)
    client = docker.DockerClient(base_url=d.url)
    addresses = set()
    try:
        for i in range(100):
            ports = {"8080/tcp": None} if i % 10 == 0 else None  # some publish a chosen port
            container = client.containers.create("busybox", ["true"], network="loop100", ports=ports)
            container.start()
            container.reload()
            address = container.attrs["NetworkSettings"]["Networks"]["loop100"]["IPAddress"]
            addresses.add(address)
            assert container.wait(timeout=30)["StatusCode"] == 0
            container.remove()
    finally:
        client.close()
    assert _network_state(d) == before  # rules, interfaces, netns files, rows
    assert len(addresses) <= 2  # each address released and handed out again
    d.docker("network", "rm", "loop100")


def test_nothing_of_ours_is_left(busybox: Estibad):
    d = busybox
    d.docker("rm", "-f", *d.docker("ps", "-aq").stdout.decode().split(), check=False)
    d.docker("network", "prune", "-f")
    options = ours(d)
    listed = d.docker("network", "ls", "--format", "{{.Name}}").stdout.decode().split()
    assert sorted(listed) == ["bridge", "host", "none"]
    # No veth on our bridge, no bridge of the networks made above, no netns file.
    enslaved = subprocess.run(["ip", "-j", "link", "show", "master", options.default_bridge],
                              capture_output=True, text=True).stdout
    assert json.loads(enslaved or "[]") == []
    assert not [n for n in links() if n in MADE_BRIDGES]
    assert not list(options.netns_dir.glob("*")) if options.netns_dir.exists() else True
    db = sqlite3.connect(str(d.data_root / "networks.db"))
    try:
        rows = [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("endpoints", "ports", "sandboxes")]
    finally:
        db.close()
    assert rows == [0, 0, 0]
    rules = our_rules(d)
    assert "dnat to" not in rules and "br-" not in rules
