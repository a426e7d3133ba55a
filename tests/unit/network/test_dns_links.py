"""Links on user-defined networks (`docker run --link other:alias`, compose's `links:`):
the alias answers for the linking container only, with the linked container's address."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from dnslib import RCODE, DNSRecord

from estiba.network import EndpointRequest, NetworkManager, NetworkOptions, NetworkStore
from estiba.network.dns import _NetworkServer
from estiba.network.manager import linked_names
from tests.unit.network.test_manager import RecordingKernel

NAMES = {"web": [IPv4Address("172.19.0.2")], "db": [IPv4Address("172.19.0.3")]}
LINKER = "172.19.0.4"


def _ask(server: _NetworkServer, name: str, client: str) -> DNSRecord:
    return DNSRecord.parse(asyncio.run(server.resolve(DNSRecord.question(name).pack(), tcp=False, client=client)))


def test_a_links_alias_answers_the_linking_client_only() -> None:
    def client_lookup(client: str) -> dict[str, list[IPv4Address]]:
        # "db" as a link alias of this client names another container than the network's db
        return {"backend": [IPv4Address("172.19.0.3")], "db": [IPv4Address("172.19.0.9")]} if client == LINKER else {}

    server = _NetworkServer("127.0.0.1", lambda: NAMES, lambda: [], client_lookup)
    assert [str(rr.rdata) for rr in _ask(server, "backend", LINKER).rr] == ["172.19.0.3"]
    assert [str(rr.rdata) for rr in _ask(server, "db", LINKER).rr] == ["172.19.0.9"]
    other = _ask(server, "backend", "172.19.0.5")  # not ours for it: forwarded, no upstream
    assert other.header.rcode == RCODE.SERVFAIL and other.rr == []
    assert [str(rr.rdata) for rr in _ask(server, "db", "172.19.0.5").rr] == ["172.19.0.3"]


def test_linked_names_map_the_askers_links_to_addresses_on_the_network(tmp_path: Path) -> None:
    store = NetworkStore(tmp_path / "networks.db")
    manager = NetworkManager(
        store, NetworkOptions(tmp_path / "netns", default_bridge="estiba9", table="tt"),
        kernel=RecordingKernel(), nft_apply=lambda script: None,
        routes=lambda: [(IPv4Network("172.17.0.0/16"), "docker0")],
    )
    manager.restore()
    try:
        network = manager.create_network("n1")
        address = {}
        for letter in "abc":
            made = manager.setup(letter * 64, tmp_path / "netns" / letter, [EndpointRequest("n1")], hostname=letter)
            address[letter] = made.endpoints[0].ip
        links = {"b" * 64: {"backend": "a" * 64, "gone": "f" * 64}}
        names = linked_names(store, network.id, lambda container_id: links.get(container_id, {}))
        assert names(str(address["b"])) == {"backend": [address["a"]]}  # "gone" is on no endpoint
        assert names(str(address["c"])) == {}
        assert names("10.9.9.9") == {}
    finally:
        manager.close()
        store.close()
