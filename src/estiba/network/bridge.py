"""The bridge driver's kernel steps, through netlink (pyroute2): bridges, veth pairs,
network namespaces bound to files. Each function is one thin, idempotent step; the
manager decides what to do and in which order, and undoes what it did on failure.

A container's network namespace is a file (<exec_root>/netns/<container id>) on which the
namespace is bind-mounted, as `ip netns add` does, so that it outlives any process and
the runtime joins it by path.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import threading
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from estiba.errors import SystemFault

__all__ = [
    "attach_endpoint",
    "create_netns",
    "delete_bridge",
    "delete_link",
    "ensure_bridge",
    "link_names",
    "owned_bridges",
    "remove_netns",
]


def off_loop(function: Callable[..., object]) -> Callable[..., object]:
    """pyroute2 (0.9) runs its own event loop: called from a thread that runs one (the
    daemon's), the step runs in a short-lived thread of its own instead."""

    @functools.wraps(function)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return function(*args, **kwargs)
        outcome: list[object] = []

        def run() -> None:
            try:
                outcome.append((True, function(*args, **kwargs)))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                outcome.append((False, exc))

        thread = threading.Thread(target=run, name="estiba-netlink")
        thread.start()
        thread.join()
        ok, value = outcome[0]  # type: ignore[misc]
        if not ok:
            raise value  # type: ignore[misc]
        return value

    return wrapper


def _ipr():  # type: ignore[no-untyped-def]
    from pyroute2 import IPRoute

    return IPRoute()


def _fault(what: str, exc: BaseException) -> SystemFault:
    return SystemFault(f"{what}: {exc}")


@off_loop
def link_names() -> set[str]:
    with _ipr() as ipr:
        return {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}


@off_loop
def ensure_bridge(name: str, gateway: IPv4Interface, owner: str = "", *, mtu: int) -> None:
    """The bridge `name` up, with the gateway address and `mtu`; route_localnet on so that
    DNAT of 127.0.0.1:port from the host can leave through it. `owner` (the daemon's exec
    root) goes in the interface's alias, so that a later daemon can tell a dead one's
    leftovers."""
    try:
        with _ipr() as ipr:
            found = ipr.link_lookup(ifname=name)
            if not found:
                ipr.link("add", ifname=name, kind="bridge")
                found = ipr.link_lookup(ifname=name)
            index = found[0]
            if owner:
                ipr.link("set", index=index, ifalias=OWNER_PREFIX + owner)
            have = {
                (a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                for a in ipr.get_addr(index=index, family=2)
            }
            if (str(gateway.ip), gateway.network.prefixlen) not in have:
                ipr.addr("add", index=index, address=str(gateway.ip),
                         prefixlen=gateway.network.prefixlen)
            # Set, not given at "add": only a change of MTU marks it as chosen, and the
            # kernel then stops resetting it to its smallest port's (1500 once the last
            # port is gone). Set on an existing bridge too: the daemon's mtu may differ.
            ipr.link("set", index=index, mtu=mtu, state="up")
    except Exception as exc:  # pyroute2's NetlinkError and friends
        raise _fault(f"cannot set up bridge {name}", exc) from exc
    _sysctl(f"net/ipv4/conf/{name}/route_localnet", "1")


OWNER_PREFIX = "estiba:"


@off_loop
def owned_bridges() -> list[tuple[str, str, bool]]:
    """(name, owner, has ports) of every interface an estiba daemon marked as its own."""
    with _ipr() as ipr:
        links = list(ipr.get_links())
    masters = {link.get_attr("IFLA_MASTER") for link in links}
    found = []
    for link in links:
        alias = link.get_attr("IFLA_IFALIAS") or ""
        if alias.startswith(OWNER_PREFIX):
            found.append((link.get_attr("IFLA_IFNAME"), alias[len(OWNER_PREFIX):], link["index"] in masters))
    return found


def delete_bridge(name: str) -> None:
    delete_link(name)


@off_loop
def delete_link(name: str) -> None:
    """Delete an interface if it exists (a veth's peer goes with it)."""
    try:
        with _ipr() as ipr:
            found = ipr.link_lookup(ifname=name)
            if found:
                ipr.link("del", index=found[0])
    except Exception as exc:
        if getattr(exc, "code", None) == errno.ENODEV:
            return
        raise _fault(f"cannot delete interface {name}", exc) from exc


_CLONE_NEWNET = 0x40000000
_MS_BIND, _MS_REC, _MS_SHARED = 0x1000, 0x4000, 1 << 20
_MNT_DETACH = 2


def _libc():  # type: ignore[no-untyped-def]
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def in_thread(function: Callable[..., object], *args: object) -> object:
    """Run `function` in a thread of its own and return (or raise) what it did. A thread
    that enters a network namespace (unshare, setns) leaves it by ending: the daemon's
    other threads never see it. (pyroute2's own netns support forks the daemon, and the
    fork's signals reach the daemon's event loop through its wakeup fd.)"""
    outcome: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            outcome.append((True, function(*args)))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name="estiba-netns")
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if not ok:
        raise value  # type: ignore[misc]
    return value


def _share_directory(directory: Path) -> None:
    """Make the netns directory a shared mount point, as `ip netns add` does, so that the
    namespace mounts in it are seen (and unmounted) in every mount namespace."""
    libc = _libc()
    if libc.mount(b"", str(directory).encode(), b"none", _MS_SHARED | _MS_REC, None) == 0:
        return
    _check(libc.mount(str(directory).encode(), str(directory).encode(), b"none", _MS_BIND | _MS_REC, None),
           f"bind {directory}")
    _check(libc.mount(b"", str(directory).encode(), b"none", _MS_SHARED | _MS_REC, None), f"share {directory}")


def _new_netns_at(path: Path) -> None:
    libc = _libc()
    _check(libc.unshare(_CLONE_NEWNET), "unshare(CLONE_NEWNET)")
    source = f"/proc/self/task/{threading.get_native_id()}/ns/net"
    _check(libc.mount(source.encode(), str(path).encode(), b"none", _MS_BIND, None), f"bind {path}")


def create_netns(path: Path) -> None:
    """A new network namespace bound to `path` (lo comes up with the first endpoint)."""
    path.parent.mkdir(mode=0o711, parents=True, exist_ok=True)
    if path.exists():
        remove_netns(path)
    try:
        _share_directory(path.parent)
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
        in_thread(_new_netns_at, path)
    except Exception as exc:
        with contextlib.suppress(Exception):
            remove_netns(path)
        raise _fault(f"cannot create network namespace {path}", exc) from exc


def remove_netns(path: Path) -> None:
    """Unmount and remove a netns file; absent is fine. The last one out unmounts the
    directory too, so that nothing of ours stays mounted while no container runs."""
    libc = _libc()
    libc.umount2(str(path).encode(), _MNT_DETACH)  # EINVAL when not mounted: fine
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    with contextlib.suppress(OSError):
        if not any(path.parent.iterdir()):
            # A bind mount on itself (same filesystem): os.path.ismount cannot tell, and
            # umount2 of a directory that is no mount point is a harmless EINVAL.
            libc.umount2(str(path.parent).encode(), _MNT_DETACH)


def _inside(netns_path: Path, function: Callable[..., object], *args: object) -> object:
    """`function(ipr, *args)` with an IPRoute of the namespace at `netns_path`."""

    def run() -> object:
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _check(_libc().setns(fd, _CLONE_NEWNET), f"setns {netns_path}")
        finally:
            os.close(fd)
        with _ipr() as ipr:
            return function(ipr, *args)

    return in_thread(run)


@off_loop
def attach_endpoint(
    netns_path: Path, *, bridge: str, veth: str, ifname: str, address: IPv4Interface,
    mac: str, gateway: IPv4Address | None, mtu: int,
) -> None:
    """A veth pair with the bridge's `mtu` on both ends: `veth` on the host, enslaved to
    `bridge`; its peer in the netns as `ifname` with the MAC and address, up, and the
    default route via `gateway` (the first network's only)."""
    peer = "vp" + veth[2:]
    try:
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with _ipr() as ipr:
                # The peer is created straight in the namespace, so its name never
                # clashes with a host interface.
                ipr.link("add", ifname=veth, kind="veth", mtu=mtu,
                         peer={"ifname": peer, "net_ns_fd": fd, "mtu": mtu})
                index = ipr.link_lookup(ifname=veth)[0]
                master = ipr.link_lookup(ifname=bridge)[0]
                ipr.link("set", index=index, master=master, state="up")
        finally:
            os.close(fd)
    except Exception as exc:
        delete_link(veth)
        raise _fault(f"cannot create veth {veth} on {bridge}", exc) from exc

    def configure(ns) -> None:  # type: ignore[no-untyped-def]
        index = ns.link_lookup(ifname=peer)[0]
        ns.link("set", index=index, ifname=ifname, address=mac)
        ns.addr("add", index=index, address=str(address.ip), prefixlen=address.network.prefixlen)
        ns.link("set", index=index, state="up")
        ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
        if gateway is not None:
            ns.route("add", dst="0.0.0.0/0", gateway=str(gateway))

    try:
        _inside(netns_path, configure)
    except Exception as exc:
        delete_link(veth)
        raise _fault(f"cannot configure {ifname} in {netns_path}", exc) from exc


def _sysctl(name: str, value: str) -> None:
    try:
        Path("/proc/sys", name).write_text(value)
    except OSError as exc:
        raise _fault(f"cannot set {name.replace('/', '.')}", exc) from exc
