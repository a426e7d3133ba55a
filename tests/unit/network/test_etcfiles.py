"""The container's /etc/hosts and /etc/resolv.conf texts."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from estiba.errors import InvalidArgument
from estiba.network.etcfiles import HOSTS_BASE, hosts_file, resolv_file


def test_hosts_has_localhost_added_hosts_then_own_name():
    text = hosts_file("box", IPv4Address("172.18.0.2"), ["db:10.0.0.9"])
    assert text == HOSTS_BASE + "10.0.0.9\tdb\n172.18.0.2\tbox\n"
    with pytest.raises(InvalidArgument):
        hosts_file("box", None, ["nocolon"])


def test_resolv_on_user_networks_asks_the_embedded_server_first():
    assert resolv_file("172.18.0.1", ["1.1.1.1"], ["corp"], ["ndots:2"], ["10.0.0.53"]) == (
        "nameserver 172.18.0.1\nnameserver 1.1.1.1\nsearch corp\noptions ndots:2\n"
    )


def test_resolv_elsewhere_drops_loopback_servers_and_falls_back():
    assert resolv_file(None, [], [], [], ["127.0.0.53", "10.0.0.53"]) == "nameserver 10.0.0.53\n"
    assert resolv_file(None, [], [], [], ["127.0.0.53"]) == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
    assert resolv_file(None, ["9.9.9.9"], [], [], ["10.0.0.53"]) == "nameserver 9.9.9.9\n"
