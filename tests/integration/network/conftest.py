"""A NetworkManager of its own for each test (own bridge names, nftables table, netns
directory and store), servers in namespaces, and snapshots of what the host has: its
links, our nftables tables and our netns files, to compare before and after."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from estiba.network import DnsService, NetworkManager, NetworkOptions, NetworkStore

TABLE = f"estiba-it{os.getpid() % 10000}"


def links() -> set[str]:
    out = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout
    return {link["ifname"] for link in json.loads(out)}


def our_ruleset(table: str = TABLE) -> list[dict]:
    out = subprocess.run(["nft", "-j", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
    items = json.loads(out)["nftables"]
    ours = [i for i in items if any(v.get("table", v.get("name", "")).startswith(table)
                                    for v in i.values() if isinstance(v, dict))]
    # Handles change each time a table is replaced; the rules themselves must not.
    return [{kind: {k: v for k, v in body.items() if k != "handle"} for kind, body in i.items()}
            for i in ours]


def our_links(owner: str) -> set[str]:
    """Interfaces marked as `owner`'s (its bridges) and those enslaved to them: the host is
    shared with other tests, so only these are compared."""
    out = subprocess.run(["ip", "-j", "-d", "link"], capture_output=True, text=True, check=True).stdout
    every = json.loads(out)
    bridges = {link["ifname"] for link in every if link.get("ifalias") == f"estiba:{owner}"}
    return bridges | {link["ifname"] for link in every if link.get("master") in bridges}


def snapshot(netns_dir: Path) -> dict[str, object]:
    files = sorted(p.name for p in netns_dir.iterdir()) if netns_dir.exists() else []
    return {"links": our_links(str(netns_dir.parent)), "rules": our_ruleset(), "netns": files}


def in_ns(netns: Path | str, *argv: str, timeout: float = 10, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nsenter", f"--net={netns}", *argv], capture_output=True, text=True,
                          timeout=timeout, check=check)


class Manager:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.options = NetworkOptions(root / "netns", default_bridge=f"estiba-i{os.getpid() % 10000}", table=TABLE)
        self.store = NetworkStore(root / "networks.db")
        self.dns = DnsService()
        self.manager = NetworkManager(self.store, self.options, dns=self.dns)

    def netns(self, name: str) -> Path:
        return self.options.netns_dir / name

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.manager.remove_all()
        for network in self.store.networks():
            with contextlib.suppress(Exception):
                self.manager.kernel.delete_bridge(network.bridge)
        self.manager.close()
        self.store.close()
        subprocess.run(["umount", str(self.options.netns_dir)], capture_output=True)


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Manager]:
    made = Manager(tmp_path)
    made.manager.restore()
    yield made
    made.close()


@contextlib.contextmanager
def server(netns: Path | str, port: int, directory: Path) -> Iterator[Path]:
    """An HTTP server in the namespace; its log (one line per request, with the client's
    address) is the returned file."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "index.html").write_text("hello from the namespace\n")
    log = directory.parent / f"{directory.name}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            ["nsenter", f"--net={netns}", sys.executable, "-u", "-m", "http.server", str(port),
             "--bind", "0.0.0.0", "--directory", str(directory)],
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10
        while "Serving HTTP" not in log.read_text():  # printed once the socket is bound
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield log
    finally:
        process.kill()
        process.wait()


def fetch(host: str, port: int, timeout: float = 5) -> str:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.decode(errors="replace")


def host_address() -> str:
    """The host's own non-loopback address (of the default route's device)."""
    out = subprocess.run(["ip", "-j", "-4", "route", "show", "default"], capture_output=True, text=True).stdout
    device = json.loads(out)[0]["dev"]
    addrs = json.loads(subprocess.run(["ip", "-j", "-4", "addr", "show", device], capture_output=True, text=True).stdout)
    return addrs[0]["addr_info"][0]["local"]


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """A namespace standing for another host: a veth pair of our own from the host,
    10.231.0.1 on the host side and 10.231.0.2 inside; (netns, host side, inside) address."""
    from pyroute2 import netns as pnetns

    path = tmp_path / "outside-ns" / "outside"
    path.parent.mkdir()
    pnetns.create(str(path))
    host_if, peer = f"vetout{os.getpid() % 10000}", "vetoutp"
    try:
        subprocess.run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer,
                        "netns", str(path)], check=True)
        subprocess.run(["ip", "addr", "add", "10.231.0.1/24", "dev", host_if], check=True)
        subprocess.run(["ip", "link", "set", host_if, "up"], check=True)
        in_ns(path, "ip", "addr", "add", "10.231.0.2/24", "dev", peer, check=True)
        in_ns(path, "ip", "link", "set", peer, "up", check=True)
        in_ns(path, "ip", "link", "set", "lo", "up", check=True)
        in_ns(path, "ip", "route", "add", "default", "via", "10.231.0.1", check=True)
        yield path, "10.231.0.1", "10.231.0.2"
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        pnetns.remove(str(path))
        subprocess.run(["umount", str(path.parent)], capture_output=True)


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Hammer(threading.Thread):
    """GET / on 127.0.0.1:port in a loop, a new connection each time: the last line of
    every answer, and every failure (zero-downtime tests)."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.answers: list[str] = []
        self.failures: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.answers.append(fetch("127.0.0.1", self.port, timeout=3).strip().splitlines()[-1])
            except OSError as exc:
                self.failures.append(repr(exc))
            time.sleep(0.02)

    def finish(self, linger: float = 0.3) -> None:
        time.sleep(linger)  # a few requests after the change
        self.done.set()
        self.join(10)
