"""Which registry serves a reference, and how to reach it: the default registry, mirrors
and insecure registries (daemon.json `registry-mirrors`, `insecure-registries`).

As in Docker, `docker.io` is served by registry-1.docker.io, mirrors are tried before it
(for docker.io images only), and 127.0.0.0/8 is insecure by default: plain HTTP, or HTTPS
without certificate checks. Everything here is pure: it decides, the client connects.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from estiba.errors import InvalidArgument
from estiba.images.reference import DEFAULT_DOMAIN

DEFAULT_REGISTRY_HOST = "registry-1.docker.io"
DEFAULT_INSECURE_CIDRS = ("127.0.0.0/8",)


@dataclass(frozen=True)
class RegistryOptions:
    """How the daemon talks to registries; from daemon.json, with Docker's defaults."""

    mirrors: tuple[str, ...] = ()
    insecure: tuple[str, ...] = ()  # host[:port] names or CIDRs, besides 127.0.0.0/8
    connect_timeout: float = 15.0
    read_timeout: float = 60.0  # seconds without a byte before a transfer is given up
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    download_attempts: int = 3  # tries per blob, each resuming where the last one stopped
    chunk_size: int = 16 << 20  # uploads bigger than this go in chunks

    def __post_init__(self) -> None:
        for mirror in self.mirrors:
            check_mirror(mirror)
        for entry in self.insecure:
            check_insecure_entry(entry)


@dataclass(frozen=True)
class Endpoint:
    """One base URL to try for a registry. `domain` is the reference's registry, which also
    names its credentials; `url` is where requests go (a mirror's, for a mirror)."""

    domain: str
    url: str
    insecure: bool = False
    mirror: bool = False

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1].rstrip("/")


def endpoints(domain: str, options: RegistryOptions) -> list[Endpoint]:
    """The endpoints to try, in order, for the registry `domain`."""
    found: list[Endpoint] = []
    if domain == DEFAULT_DOMAIN:
        for mirror in options.mirrors:
            url = mirror.rstrip("/")
            host = url.split("://", 1)[1]
            found.append(Endpoint(domain, url, is_insecure(host, options), mirror=True))
        found.append(Endpoint(domain, f"https://{DEFAULT_REGISTRY_HOST}"))
        return found
    insecure = is_insecure(domain, options)
    found.append(Endpoint(domain, f"https://{domain}", insecure))
    if insecure:
        found.append(Endpoint(domain, f"http://{domain}", insecure))
    return found


def is_insecure(host: str, options: RegistryOptions) -> bool:
    """Whether `host[:port]` may be reached without TLS verification."""
    if host in options.insecure:
        return True
    name = _hostname(host)
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    for entry in (*DEFAULT_INSECURE_CIDRS, *options.insecure):
        if "/" in entry and address in ipaddress.ip_network(entry, strict=False):
            return True
    return False


def check_mirror(mirror: str) -> str:
    if not mirror.startswith(("http://", "https://")) or len(mirror.split("://", 1)[1]) == 0:
        raise InvalidArgument(
            f"invalid registry mirror {mirror!r}", hint="give a URL such as https://mirror:5000"
        )
    if "/" in mirror.split("://", 1)[1].rstrip("/"):
        raise InvalidArgument(f"invalid registry mirror {mirror!r}: a mirror cannot have a path")
    return mirror


def check_insecure_entry(entry: str) -> str:
    if "://" in entry or not entry:
        raise InvalidArgument(
            f"invalid insecure registry {entry!r}", hint="give host[:port] or a CIDR"
        )
    if "/" in entry:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise InvalidArgument(f"invalid insecure registry CIDR {entry!r}") from exc
    return entry


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
