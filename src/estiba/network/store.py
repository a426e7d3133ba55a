"""The network store: `networks.db` (SQLite, WAL) under the daemon's data root.

    networks    id, name (unique), driver, subnet, gateway, ip_range, internal, labels,
                options, created, bridge device
    endpoints   (network, container) -> ip (unique per network), mac, aliases, veth, names
    ports       a container's published ports, as chosen (host port filled in)
    wishes      `network connect`/`disconnect` of a container, kept for its next start
    sandboxes   a container's netns file

An address is allocated by inserting its endpoint row and released by deleting it, each in
one transaction, so it is handed out once and released once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import AbstractContextManager
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from estiba.errors import Conflict, InvalidArgument, NotFound
from estiba.network.ipam import AddressPool
from estiba.network.model import Endpoint, Network, PortBinding, mac_for
from estiba.sqltx import immediate

__all__ = ["NetworkStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, driver TEXT NOT NULL,
    subnet TEXT NOT NULL, gateway TEXT NOT NULL, ip_range TEXT NOT NULL DEFAULT '',
    internal INTEGER NOT NULL DEFAULT 0, labels TEXT NOT NULL DEFAULT '{}',
    options TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL, bridge TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS endpoints (
    network_id TEXT NOT NULL REFERENCES networks(id), container_id TEXT NOT NULL,
    ip TEXT NOT NULL, mac TEXT NOT NULL, aliases TEXT NOT NULL DEFAULT '[]',
    veth TEXT NOT NULL, names TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (network_id, container_id), UNIQUE (network_id, ip)
);
CREATE TABLE IF NOT EXISTS ports (
    container_id TEXT NOT NULL, container_port INTEGER NOT NULL, proto TEXT NOT NULL,
    host_ip TEXT NOT NULL, host_port INTEGER NOT NULL,
    PRIMARY KEY (container_id, container_port, proto, host_ip, host_port)
);
CREATE TABLE IF NOT EXISTS wishes (
    container_id TEXT NOT NULL, network_id TEXT NOT NULL, ip TEXT NOT NULL DEFAULT '',
    aliases TEXT NOT NULL DEFAULT '[]', connected INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (container_id, network_id)
);
CREATE TABLE IF NOT EXISTS sandboxes (
    container_id TEXT PRIMARY KEY, netns TEXT NOT NULL
);
"""


def _network(row: sqlite3.Row) -> Network:
    return Network(
        id=row["id"], name=row["name"], driver=row["driver"],
        subnet=IPv4Network(row["subnet"]), gateway=IPv4Address(row["gateway"]),
        ip_range=IPv4Network(row["ip_range"]) if row["ip_range"] else None,
        internal=bool(row["internal"]), labels=json.loads(row["labels"]),
        options=json.loads(row["options"]), created=row["created"], bridge=row["bridge"],
    )


def _endpoint(row: sqlite3.Row) -> Endpoint:
    return Endpoint(
        network_id=row["network_id"], container_id=row["container_id"],
        ip=IPv4Address(row["ip"]), mac=row["mac"], aliases=tuple(json.loads(row["aliases"])),
        veth=row["veth"], names=tuple(json.loads(row["names"])),
    )


class NetworkStore:
    def __init__(self, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db, self._lock)

    def _query(self, sql: str, *args: object) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # --- networks ---------------------------------------------------------------------

    def add_network(self, network: Network) -> Network:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO networks VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (network.id, network.name, network.driver, str(network.subnet),
                     str(network.gateway), str(network.ip_range or ""), int(network.internal),
                     json.dumps(network.labels), json.dumps(network.options), network.created,
                     network.bridge),
                )
        except sqlite3.IntegrityError as exc:
            if "networks.name" in str(exc):
                raise Conflict(f"network with name {network.name} already exists") from exc
            raise Conflict(f"bridge {network.bridge} is used by another network") from exc
        return network

    def networks(self) -> list[Network]:
        return [_network(r) for r in self._query("SELECT * FROM networks ORDER BY created, name")]

    def network(self, ref: str) -> Network:
        """By full id, exact name, then unambiguous id prefix (dockerd's order)."""
        if not ref:
            raise InvalidArgument("a network name or id is required")
        rows = self._query("SELECT * FROM networks WHERE id = ? OR name = ?", ref, ref)
        if not rows:
            rows = self._query("SELECT * FROM networks WHERE id LIKE ?", ref.replace("%", "") + "%")
            if len(rows) > 1:
                raise InvalidArgument(f"network {ref} is ambiguous ({len(rows)} matches found)")
        if not rows:
            raise NotFound(f"network {ref} not found")
        by_id = [r for r in rows if r["id"] == ref]
        return _network((by_id or rows)[0])

    def remove_network(self, network_id: str) -> None:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM endpoints WHERE network_id = ?", (network_id,)).fetchone():
                raise Conflict(f"network {network_id} has active endpoints")
            db.execute("DELETE FROM networks WHERE id = ?", (network_id,))

    # --- endpoints --------------------------------------------------------------------

    def allocate_endpoint(
        self, network: Network, container_id: str, *, ip: str, aliases: tuple[str, ...],
        names: tuple[str, ...], veth: str,
    ) -> Endpoint:
        """Take an address (`ip` or the lowest free one) and record the endpoint."""
        with self._tx() as db:
            if db.execute(
                "SELECT 1 FROM endpoints WHERE network_id = ? AND container_id = ?",
                (network.id, container_id),
            ).fetchone():
                raise Conflict(f"endpoint with name {container_id[:12]} already exists in network {network.name}")
            taken = db.execute("SELECT ip FROM endpoints WHERE network_id = ?", (network.id,))
            pool = AddressPool(network.subnet, network.gateway, network.ip_range,
                               {IPv4Address(r["ip"]) for r in taken})
            address = pool.allocate(ip)
            endpoint = Endpoint(network.id, container_id, address, mac_for(address), aliases, veth, names)
            db.execute(
                "INSERT INTO endpoints VALUES (?,?,?,?,?,?,?)",
                (network.id, container_id, str(address), endpoint.mac, json.dumps(list(aliases)),
                 veth, json.dumps(list(names))),
            )
        return endpoint

    def release_endpoint(self, network_id: str, container_id: str) -> Endpoint:
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM endpoints WHERE network_id = ? AND container_id = ?",
                (network_id, container_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"container {container_id[:12]} is not connected to network {network_id[:12]}")
            db.execute("DELETE FROM endpoints WHERE network_id = ? AND container_id = ?",
                       (network_id, container_id))
        return _endpoint(row)

    def endpoints(self, *, network_id: str | None = None, container_id: str | None = None) -> list[Endpoint]:
        sql, args = "SELECT * FROM endpoints WHERE 1=1", []
        if network_id is not None:
            sql, args = sql + " AND network_id = ?", [*args, network_id]
        if container_id is not None:
            sql, args = sql + " AND container_id = ?", [*args, container_id]
        return [_endpoint(r) for r in self._query(sql + " ORDER BY rowid", *args)]

    # --- ports and sandboxes ----------------------------------------------------------

    def set_ports(self, container_id: str, ports: list[PortBinding]) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM ports WHERE container_id = ?", (container_id,))
            db.executemany(
                "INSERT OR IGNORE INTO ports VALUES (?,?,?,?,?)",
                [(container_id, p.container_port, p.proto, p.host_ip, p.host_port) for p in ports],
            )

    def ports(self, container_id: str | None = None) -> dict[str, list[PortBinding]]:
        rows = (self._query("SELECT * FROM ports WHERE container_id = ? ORDER BY rowid", container_id)
                if container_id else self._query("SELECT * FROM ports ORDER BY rowid"))
        result: dict[str, list[PortBinding]] = {}
        for r in rows:
            result.setdefault(r["container_id"], []).append(
                PortBinding(r["container_port"], r["proto"], r["host_ip"], r["host_port"]))
        return result

    def set_sandbox(self, container_id: str, netns: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO sandboxes VALUES (?, ?)", (container_id, netns))

    def sandbox(self, container_id: str) -> str | None:
        rows = self._query("SELECT netns FROM sandboxes WHERE container_id = ?", container_id)
        return rows[0]["netns"] if rows else None

    def sandboxes(self) -> dict[str, str]:
        return {r["container_id"]: r["netns"] for r in self._query("SELECT * FROM sandboxes")}

    def drop_sandbox(self, container_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM sandboxes WHERE container_id = ?", (container_id,))
            db.execute("DELETE FROM ports WHERE container_id = ?", (container_id,))

    # --- wishes: connects and disconnects that outlive a stop ---------------------------

    def set_wish(self, container_id: str, network_id: str, *, ip: str = "",
                 aliases: tuple[str, ...] = (), connected: bool = True) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO wishes VALUES (?,?,?,?,?)",
                       (container_id, network_id, ip, json.dumps(list(aliases)), int(connected)))

    def wishes(self, container_id: str) -> list[tuple[str, str, tuple[str, ...], bool]]:
        """(network id, ip, aliases, connected) in the order they were made."""
        rows = self._query("SELECT * FROM wishes WHERE container_id = ? ORDER BY rowid", container_id)
        return [(r["network_id"], r["ip"], tuple(json.loads(r["aliases"])), bool(r["connected"]))
                for r in rows]

    def forget(self, container_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM wishes WHERE container_id = ?", (container_id,))

    def wished_containers(self) -> set[str]:
        return {r["container_id"] for r in self._query("SELECT container_id FROM wishes")}
