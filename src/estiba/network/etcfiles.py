"""The texts of a container's /etc/hosts and /etc/resolv.conf, pure: what `setup` answers
and the engine writes into the container's run directory."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address

from estiba.errors import InvalidArgument

__all__ = ["added_hosts", "hosts_file", "resolv_file"]

HOSTS_BASE = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)
FALLBACK_DNS = ("8.8.8.8", "8.8.4.4")  # dockerd's, when the host has only loopback ones


def hosts_file(hostname: str, address: IPv4Address | None, extra_hosts: Sequence[str]) -> str:
    """localhost entries, --add-host ones (name:ip), then the container's own name on its
    first address."""
    text = HOSTS_BASE + added_hosts(extra_hosts)
    if address is not None:
        text += f"{address}\t{hostname}\n"
    return text


def added_hosts(extra_hosts: Sequence[str]) -> str:
    """The /etc/hosts lines of --add-host entries (name:ip), checked."""
    text = ""
    for entry in extra_hosts:
        name, sep, ip = entry.partition(":")
        if not sep or not name or not ip:
            raise InvalidArgument(f"invalid add-host {entry!r}: use name:ip")
        text += f"{ip}\t{name}\n"
    return text


def resolv_file(
    embedded: str | None, dns: Sequence[str], search: Sequence[str], options: Sequence[str],
    host_servers: Sequence[str],
) -> str:
    """The embedded DNS server first on user networks (then --dns); elsewhere --dns, or the
    host's resolvers without the loopback ones (they would point into the container)."""
    if embedded:
        servers = [embedded, *dns]
    else:
        servers = list(dns) or [s for s in host_servers if not s.startswith("127.")] or list(FALLBACK_DNS)
    lines = [f"nameserver {s}" for s in servers]
    if search:
        lines.append("search " + " ".join(search))
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"
