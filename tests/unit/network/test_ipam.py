"""IPAM: pools, overlap with routes and networks, static addresses, exhaustion, release once."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from estiba.errors import Conflict, InvalidArgument, NotFound, Unavailable
from estiba.network.ipam import DEFAULT_POOLS, AddressPool, PoolSpec, choose_subnet, subnet_config


def net(text: str) -> IPv4Network:
    return IPv4Network(text)


def test_default_pools_start_like_dockerd():
    assert choose_subnet(DEFAULT_POOLS, []) == net("172.17.0.0/16")
    assert choose_subnet(DEFAULT_POOLS, [], skip_first=1) == net("172.18.0.0/16")


def test_a_subnet_overlapping_a_route_or_a_network_is_passed_over():
    in_use = [net("172.17.0.0/16"), net("172.18.5.0/24"), net("172.16.0.0/12")]
    assert choose_subnet(DEFAULT_POOLS, in_use) == net("192.168.0.0/20")
    assert choose_subnet(DEFAULT_POOLS, [net("172.19.0.0/16")], skip_first=1) == net("172.18.0.0/16")


def test_configured_pools_are_cut_to_their_size():
    pools = (PoolSpec(net("10.10.0.0/16"), 24),)
    assert choose_subnet(pools, [net("10.10.0.0/24")]) == net("10.10.1.0/24")


def test_exhausted_pools_are_a_clear_error():
    pools = (PoolSpec(net("10.10.0.0/23"), 24),)
    with pytest.raises(Unavailable, match="non-overlapping IPv4 address pool"):
        choose_subnet(pools, [net("10.10.0.0/24"), net("10.10.1.0/24")])


def test_gateway_is_the_first_address_and_ranges_are_checked():
    config = subnet_config(net("10.1.0.0/24"))
    assert config.gateway == IPv4Address("10.1.0.1") and config.ip_range is None
    assert subnet_config(net("10.1.0.0/24"), "10.1.0.254", "10.1.0.128/25").ip_range == net("10.1.0.128/25")
    with pytest.raises(InvalidArgument, match="not in subnet"):
        subnet_config(net("10.1.0.0/24"), "10.2.0.1")
    with pytest.raises(InvalidArgument, match="not within subnet"):
        subnet_config(net("10.1.0.0/24"), "", "10.1.1.0/25")


def test_addresses_come_lowest_first_skipping_gateway_and_range():
    pool = AddressPool(net("10.1.0.0/24"), IPv4Address("10.1.0.1"))
    assert [pool.allocate() for _ in range(2)] == [IPv4Address("10.1.0.2"), IPv4Address("10.1.0.3")]
    ranged = AddressPool(net("10.1.0.0/24"), IPv4Address("10.1.0.1"), net("10.1.0.128/25"))
    assert ranged.allocate() == IPv4Address("10.1.0.129")


def test_static_addresses():
    pool = AddressPool(net("10.1.0.0/24"), IPv4Address("10.1.0.1"))
    assert pool.allocate("10.1.0.50") == IPv4Address("10.1.0.50")
    with pytest.raises(Conflict, match="already in use"):
        pool.allocate("10.1.0.50")
    with pytest.raises(Conflict):
        pool.allocate("10.1.0.1")
    with pytest.raises(InvalidArgument, match="not in subnet"):
        pool.allocate("10.9.0.5")
    with pytest.raises(InvalidArgument):
        pool.allocate("10.1.0.255")


def test_a_full_network_is_an_error_and_release_frees_once():
    pool = AddressPool(net("10.1.0.0/29"), IPv4Address("10.1.0.1"))
    got = [pool.allocate() for _ in range(5)]  # .2 to .6
    with pytest.raises(Unavailable, match="no available IPv4 addresses"):
        pool.allocate()
    pool.release(got[0])
    with pytest.raises(NotFound):
        pool.release(got[0])
    assert pool.allocate() == got[0]
