"""Networking: IPAM, bridge networks on netlink, nftables NAT and published ports, and the
embedded DNS of user-defined networks. Kernel work (netlink, nftables) happens only in
this package; `NetworkManager` is the way in."""

from estiba.network.dns import DnsService
from estiba.network.manager import NetworkManager
from estiba.network.model import (
    ContainerNetworking,
    Endpoint,
    EndpointRequest,
    Network,
    NetworkOptions,
    PortBinding,
)
from estiba.network.store import NetworkStore

__all__ = [
    "ContainerNetworking",
    "DnsService",
    "Endpoint",
    "EndpointRequest",
    "Network",
    "NetworkManager",
    "NetworkOptions",
    "NetworkStore",
    "PortBinding",
    "cleanup",
    "open_manager",
]


TABLE_FILE = "networks.table"  # under the data root: the nftables table name in use


def open_manager(data_root, exec_root, *, pools=(), bip="", bridge="", table="", mtu=0) -> NetworkManager:  # type: ignore[no-untyped-def]
    """The manager of a daemon: its store under data_root, names from exec_root; daemon.json's
    default-address-pools ((base, size) pairs), bip, bridge, nftables-table and mtu when given.
    The table name in use is kept beside the store, so that a renamed table's old rules go
    and `cleanup` finds the table."""
    from dataclasses import replace
    from ipaddress import IPv4Network
    from pathlib import Path

    from estiba.network.ipam import PoolSpec

    options = NetworkOptions.for_exec_root(Path(exec_root))
    if pools:
        options = replace(options, pools=tuple(PoolSpec(IPv4Network(base), size) for base, size in pools))
    if bip:
        options = replace(options, default_bip=bip)
    if bridge:
        options = replace(options, default_bridge=bridge)
    if table:
        options = replace(options, table=table)
    if mtu:
        options = replace(options, mtu=mtu)
    from estiba.fsutil import atomic_write
    from estiba.network import nft

    previous = _table_in_use(Path(data_root))
    if previous and previous != options.table:
        nft.apply(nft.render_removal(previous))  # the rules under the old name go
    Path(data_root).mkdir(parents=True, exist_ok=True)
    atomic_write(str(Path(data_root) / TABLE_FILE), options.table.encode() + b"\n")
    return NetworkManager(NetworkStore(Path(data_root) / "networks.db"), options,
                          dns=DnsService(options.resolv_conf))


def cleanup(data_root, exec_root) -> None:  # type: ignore[no-untyped-def]
    """Remove everything a (dead) daemon's networking left: veths, netns files, bridges
    and its nftables tables. For test fixtures and uninstalling; the daemon itself keeps
    them across restarts (live restore)."""
    from pathlib import Path

    from dataclasses import replace

    path = Path(data_root) / "networks.db"
    options = NetworkOptions.for_exec_root(Path(exec_root))
    table = _table_in_use(Path(data_root))
    if table:
        options = replace(options, table=table)
    if not path.exists():
        return
    store = NetworkStore(path)
    try:
        NetworkManager(store, options).remove_all()
    finally:
        store.close()


def _table_in_use(data_root):  # type: ignore[no-untyped-def]
    try:
        return (data_root / TABLE_FILE).read_text().strip()
    except OSError:
        return ""
