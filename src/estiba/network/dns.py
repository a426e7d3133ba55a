"""The embedded DNS server of user-defined networks.

One server per network, on the network's gateway address, port 53, UDP and TCP. A
container name, network alias or compose service name of that network answers with the
addresses of every matching container; so does, for the linking container only, the
alias of a link (`--link other:alias`, compose's `links:`). Any other name is forwarded to
the host's resolvers (/etc/resolv.conf). The default bridge network has none (Docker's
behaviour).

`answer` is the name logic, pure: a query in, a reply out (None: forward it). The servers
run on an event loop in a thread of their own, so the (threaded) manager and the tests
drive them without an event loop of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Callable, Mapping, Sequence
from ipaddress import IPv4Address
from pathlib import Path

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

__all__ = ["ClientLookup", "DnsService", "Lookup", "answer", "host_nameservers"]

log = logging.getLogger(__name__)

# name (lower case, no trailing dot) -> the addresses of the containers that have it
Lookup = Callable[[], Mapping[str, Sequence[IPv4Address]]]
# The names only the client at this address sees (the aliases of its links): they win
# over the network's own names for that client.
ClientLookup = Callable[[str], Mapping[str, Sequence[IPv4Address]]]
TTL = 600
_FORWARD_TIMEOUT = 3.0


def answer(query: DNSRecord, names: Mapping[str, Sequence[IPv4Address]]) -> DNSRecord | None:
    """The reply to a query about a name of the network; None when the name is not ours."""
    question = query.q
    name = str(question.qname).rstrip(".").lower()
    addresses = names.get(name)
    if addresses is None:
        return None
    reply = query.reply()
    if question.qtype in (QTYPE.A, QTYPE.ANY):
        for address in addresses:
            reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(str(address)), ttl=TTL))
    # AAAA and other types of one of our names: NOERROR with no answer, never forwarded
    # (the outside world must not answer for a container's name).
    return reply


def host_nameservers(resolv_conf: Path = Path("/etc/resolv.conf")) -> list[str]:
    try:
        text = resolv_conf.read_text()
    except OSError:
        return []
    servers = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver" and ":" not in words[1]:
            servers.append(words[1])
    return servers


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: _NetworkServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        async def reply() -> None:
            out = await self.server.resolve(data, tcp=False, client=addr[0])
            if out and self.transport is not None:
                self.transport.sendto(out, addr)

        asyncio.ensure_future(reply())


class _NetworkServer:
    def __init__(
        self, address: str, lookup: Lookup, upstream: Callable[[], list[str]],
        client_lookup: ClientLookup | None = None,
    ) -> None:
        self.address = address
        self.lookup = lookup
        self.client_lookup = client_lookup
        self.upstream = upstream
        self.closers: list[Callable[[], None]] = []

    async def start(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND: the bridge may come up later
        udp.bind((self.address, port))
        transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=udp)
        self.closers.append(transport.close)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.setsockopt(socket.SOL_IP, 15, 1)
        try:
            tcp.bind((self.address, port))
            server = await asyncio.start_server(self._tcp_client, sock=tcp)
        except BaseException:
            tcp.close()
            transport.close()
            raise
        self.closers.append(server.close)

    def close(self) -> None:
        for close in self.closers:
            close()
        self.closers.clear()

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        client = peer[0] if peer else ""
        try:
            while True:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
                out = await self.resolve(await reader.readexactly(size), tcp=True, client=client)
                if not out:
                    break
                writer.write(struct.pack("!H", len(out)) + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def resolve(self, data: bytes, *, tcp: bool, client: str = "") -> bytes | None:
        try:
            query = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - garbage from the network: no reply
            return None
        try:
            names = self.lookup()
            if self.client_lookup is not None and client:
                names = {**names, **self.client_lookup(client)}
            reply = answer(query, names)
        except Exception:  # noqa: BLE001 - the store went away: SERVFAIL, not silence
            log.exception("dns: lookup failed")
            reply = query.reply()
            reply.header.rcode = RCODE.SERVFAIL
        if reply is not None:
            return reply.pack()
        return await self._forward(query, data, tcp=tcp)

    async def _forward(self, query: DNSRecord, data: bytes, *, tcp: bool) -> bytes:
        for server in self.upstream():
            try:
                return await asyncio.wait_for(_ask(server, data, tcp=tcp), _FORWARD_TIMEOUT)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                continue
        reply = query.reply()
        reply.header.rcode = RCODE.SERVFAIL
        return reply.pack()


async def _ask(server: str, data: bytes, *, tcp: bool) -> bytes:
    loop = asyncio.get_running_loop()
    if tcp:
        reader, writer = await asyncio.open_connection(server, 53)
        try:
            writer.write(struct.pack("!H", len(data)) + data)
            await writer.drain()
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            return await reader.readexactly(size)
        finally:
            writer.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        await loop.sock_connect(sock, (server, 53))
        await loop.sock_sendall(sock, data)
        return await loop.sock_recv(sock, 65535)


class DnsService:
    """The DNS servers of all user-defined networks, on one event loop in one thread."""

    def __init__(self, resolv_conf: Path = Path("/etc/resolv.conf"), port: int = 53) -> None:
        self.resolv_conf = resolv_conf
        self.port = port
        self._servers: dict[str, _NetworkServer] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="estiba-dns", daemon=True).start()
                self._loop = loop
            return self._loop

    def serve(
        self, network_id: str, address: str, lookup: Lookup, client_lookup: ClientLookup | None = None
    ) -> None:
        """Serve the network's names on address:53 (replacing a server already there)."""
        self.stop(network_id)
        server = _NetworkServer(address, lookup, lambda: host_nameservers(self.resolv_conf), client_lookup)
        future = asyncio.run_coroutine_threadsafe(server.start(self.port), self._running_loop())
        future.result(10)
        self._servers[network_id] = server

    def stop(self, network_id: str) -> None:
        server = self._servers.pop(network_id, None)
        if server is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(server.close)

    def close(self) -> None:
        for network_id in list(self._servers):
            self.stop(network_id)
        if self._loop is not None:
            loop, self._loop = self._loop, None
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
