"""The nftables ruleset, rendered for a given set of networks and published ports."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from estiba.network.nft import Dnat, NatNetwork, render, render_removal

EXPECTED = """\
table inet t
delete table inet t
table ip t-nat
delete table ip t-nat
table inet t {
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tiifname "br-a" oifname { "br-i", "estiba0" } drop
\t\tiifname "br-i" oifname { "br-a", "estiba0" } drop
\t\tiifname "estiba0" oifname { "br-a", "br-i" } drop
\t\tiifname "br-i" oifname != "br-i" drop
\t\toifname "br-i" iifname != "br-i" drop
\t\tct state established,related accept
\t\tiifname "br-a" oifname "br-a" accept
\t\tiifname "br-a" accept
\t\toifname "br-a" ct status dnat accept
\t\toifname "br-a" drop
\t\tiifname "br-i" oifname "br-i" accept
\t\toifname "br-i" drop
\t\tiifname "estiba0" oifname "estiba0" accept
\t\tiifname "estiba0" accept
\t\toifname "estiba0" ct status dnat accept
\t\toifname "estiba0" drop
\t}
}
table ip t-nat {
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tfib daddr type local jump published
\t}
\tchain output {
\t\ttype nat hook output priority -100; policy accept;
\t\tfib daddr type local jump published
\t}
\tchain published {
\t\ttcp dport 18080 dnat to 172.17.0.2:8080
\t\tip daddr 127.0.0.1 tcp dport 18081 dnat to 172.18.0.3:80
\t\tudp dport 5353 dnat to 172.17.0.2:53
\t}
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tip saddr 172.18.0.0/16 oifname != "br-a" masquerade
\t\tip saddr 172.17.0.0/16 oifname != "estiba0" masquerade
\t\toifname "br-a" ip saddr 127.0.0.0/8 masquerade
\t\toifname "br-a" iifname "br-a" ct status dnat masquerade
\t\toifname "br-i" ip saddr 127.0.0.0/8 masquerade
\t\toifname "br-i" iifname "br-i" ct status dnat masquerade
\t\toifname "estiba0" ip saddr 127.0.0.0/8 masquerade
\t\toifname "estiba0" iifname "estiba0" ct status dnat masquerade
\t}
}
"""


def test_ruleset_for_three_networks_and_three_ports():
    networks = [
        NatNetwork("estiba0", IPv4Network("172.17.0.0/16")),
        NatNetwork("br-a", IPv4Network("172.18.0.0/16")),
        NatNetwork("br-i", IPv4Network("172.19.0.0/16"), internal=True),
    ]
    ports = [
        Dnat("udp", 5353, IPv4Address("172.17.0.2"), 53),
        Dnat("tcp", 18081, IPv4Address("172.18.0.3"), 80, host_ip="127.0.0.1"),
        Dnat("tcp", 18080, IPv4Address("172.17.0.2"), 8080, host_ip="0.0.0.0"),
    ]
    assert render("t", networks, ports) == EXPECTED


def test_no_networks_still_replaces_both_tables_with_empty_ones():
    text = render("t", [], [])
    assert text.startswith(render_removal("t"))
    assert "masquerade" not in text and "drop" not in text and "dnat to" not in text


def test_removal_deletes_only_our_tables():
    assert render_removal("x") == (
        "table inet x\ndelete table inet x\ntable ip x-nat\ndelete table ip x-nat\n"
    )
