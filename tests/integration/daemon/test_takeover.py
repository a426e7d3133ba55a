"""Zero-downtime replacement of a container with published ports (beyond Docker): the new
container starts with its ports deferred, takes the old one's host ports over in one
ruleset change, and a client hammering the port sees no failed request throughout."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from estiba.cli.client import Client
from estiba.errors import Conflict, InvalidArgument
from estiba.network import NetworkOptions
from tests.integration.daemon.conftest import Estibad
from tests.integration.network.conftest import Hammer, fetch, free_port

pytestmark = pytest.mark.timeout(180)


def serve(text: str) -> str:
    return f"mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 8080 -h /www"


def answer(port: int, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fetch("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def our_rules(daemon: Estibad) -> str:
    """This daemon's own nftables tables (other daemons may run at the same time)."""
    table = NetworkOptions.for_exec_root(daemon.exec_root).table
    out = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    return "\n".join(chunk for chunk in out.split("\ntable ") if chunk.split(" ")[1].startswith(table))


def test_a_deferred_container_takes_the_ports_over_with_no_failed_request(busybox: Estibad) -> None:
    d = busybox
    client = Client(d.url)
    port = free_port()
    d.estiba("run", "-d", "--name", "old", "-p", f"127.0.0.1:{port}:8080", "busybox", "sh", "-c", serve("old"))
    assert "old" in answer(port)
    d.estiba("create", "--name", "new", "-p", f"127.0.0.1:{port}:8080", "busybox", "sh", "-c", serve("new"))
    # A plain start collides with the old container's port, as in Docker...
    taken = d.estiba("start", "new", check=False)
    assert taken.returncode != 0 and b"already allocated" in taken.stderr
    # ... a deferred one runs without publishing anything yet.
    client.post("/containers/new/start", **{"estiba-defer-ports": "1"})
    assert d.estiba("port", "new").stdout == b""
    assert "old" in answer(port)
    hammer = Hammer(port)
    hammer.start()
    try:
        time.sleep(0.5)
        made = client.post("/estiba/containers/new/ports/takeover", **{"from": "old"})
        assert made == [{"IP": "127.0.0.1", "PrivatePort": 8080, "PublicPort": port, "Type": "tcp"}]
        time.sleep(0.5)
        d.estiba("stop", "-t", "1", "old")
        d.estiba("rm", "old")
        time.sleep(0.5)
    finally:
        hammer.finish(linger=0)
    assert hammer.failures == []
    assert "old" in hammer.answers and hammer.answers[-1] == "new"
    # Once switched, never back: the ruleset changed in one step.
    switched = hammer.answers.index("new")
    assert set(hammer.answers[switched:]) == {"new"}
    assert d.estiba("port", "new").stdout.decode().strip() == f"8080/tcp -> 127.0.0.1:{port}"
    # The new one restarts with its ports as configured (no deferral left over).
    d.estiba("restart", "-t", "1", "new")
    assert "new" in answer(port)
    d.estiba("rm", "-f", "new")
    assert str(port) not in our_rules(d)
    with socket.socket() as probe:  # the reservation is gone with the container
        probe.bind(("127.0.0.1", port))


def test_takeover_refusals(busybox: Estibad) -> None:
    d = busybox
    client = Client(d.url)
    port = free_port()
    d.estiba("run", "-d", "--name", "ta", "-p", f"127.0.0.1:{port}:8080", "busybox", "sh", "-c", serve("ta"))
    d.estiba("run", "-d", "--name", "tb", "busybox", "sleep", "60")
    d.estiba("create", "--name", "th", "--network", "host", "busybox", "sleep", "60")
    before = our_rules(d)
    try:
        with pytest.raises(Conflict, match="not started with its ports deferred"):
            client.post("/estiba/containers/tb/ports/takeover", **{"from": "ta"})
        with pytest.raises(InvalidArgument, match="its own ports"):
            client.post("/estiba/containers/ta/ports/takeover", **{"from": "ta"})
        with pytest.raises(InvalidArgument, match=r"\?from="):
            client.post("/estiba/containers/ta/ports/takeover")
        with pytest.raises(Conflict, match="no network of its own"):
            client.post("/containers/th/start", **{"estiba-defer-ports": "1"})
        assert d.estiba("inspect", "-f", "{{.State.Status}}", "th").stdout == b"created\n"
        assert our_rules(d) == before
        assert "ta" in answer(port)
    finally:
        d.estiba("rm", "-f", "ta", "tb", "th")
