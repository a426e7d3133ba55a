"""The embedded DNS's name logic: queries built with dnslib, answers read back."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address
from pathlib import Path

from dnslib import QTYPE, RCODE, DNSRecord

from estiba.network.dns import _NetworkServer, answer, host_nameservers

NAMES = {
    "web": [IPv4Address("172.18.0.2"), IPv4Address("172.18.0.5")],
    "db": [IPv4Address("172.18.0.3")],
}


def test_a_name_of_the_network_answers_every_matching_container():
    reply = answer(DNSRecord.question("web"), NAMES)
    assert reply is not None and reply.header.rcode == RCODE.NOERROR
    assert sorted(str(rr.rdata) for rr in reply.rr) == ["172.18.0.2", "172.18.0.5"]
    assert all(rr.rtype == QTYPE.A for rr in reply.rr)


def test_names_match_without_case_or_trailing_dot():
    reply = answer(DNSRecord.question("DB."), NAMES)
    assert reply is not None and [str(rr.rdata) for rr in reply.rr] == ["172.18.0.3"]


def test_aaaa_of_our_name_is_empty_not_forwarded():
    reply = answer(DNSRecord.question("db", "AAAA"), NAMES)
    assert reply is not None and reply.rr == [] and reply.header.rcode == RCODE.NOERROR


def test_other_names_are_forwarded():
    assert answer(DNSRecord.question("example.org"), NAMES) is None


def test_forwarding_without_upstream_is_servfail():
    server = _NetworkServer("127.0.0.1", lambda: NAMES, lambda: [])
    query = DNSRecord.question("example.org")
    data = asyncio.run(server.resolve(query.pack(), tcp=False))
    assert DNSRecord.parse(data).header.rcode == RCODE.SERVFAIL
    local = asyncio.run(server.resolve(DNSRecord.question("web").pack(), tcp=False))
    assert len(DNSRecord.parse(local).rr) == 2


def test_host_nameservers_come_from_resolv_conf(tmp_path: Path):
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("search x\nnameserver 10.0.0.53\nnameserver fe80::1\n# c\nnameserver 127.0.0.53\n")
    assert host_nameservers(resolv) == ["10.0.0.53", "127.0.0.53"]
    assert host_nameservers(tmp_path / "missing") == []
