"""The container store: container and exec records in SQLite (WAL), with dockerd's lookups.

Each change is one transaction, and a state change is checked against the state machine
(`estiba.engine.states`) inside the transaction that writes it, so two threads can't both
start or remove one container. `batch()` groups several changes into one transaction.

Lookups follow dockerd's GetContainer: full id, then name (with or without the leading
"/"), then unique id prefix. An ambiguous prefix is InvalidArgument (dockerd's message,
"multiple IDs found with provided prefix"; a client error, so 400 rather than dockerd's 500).
`list` is `docker ps` (filters in `ListFilters`, plus all/limit/latest).

Config and HostConfig are kept as the JSON of the API (what `ContainerConfig.from_api`
and `HostConfig.from_api` read), so a record can always be re-read by a newer daemon.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from estiba.engine.config import ContainerConfig
from estiba.engine.health import HEALTH_STATUSES
from estiba.engine.names import random_name, short_id, validate_name
from estiba.engine.states import Event, State, is_running, transition
from estiba.errors import Conflict, InvalidArgument, NotFound, SystemFault, Unsupported

__all__ = [
    "ZERO_TIME",
    "ContainerRecord",
    "ContainerStore",
    "ExecRecord",
    "ListFilters",
    "StoreTransaction",
    "rfc3339_now",
]

ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time, what dockerd shows for "never"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-f]+")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL,
    image_ref TEXT NOT NULL,
    created TEXT NOT NULL,
    config TEXT NOT NULL,
    host_config TEXT NOT NULL,
    state TEXT NOT NULL,
    pid INTEGER NOT NULL,
    exit_code INTEGER NOT NULL,
    oom_killed INTEGER NOT NULL,
    error TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    restart_count INTEGER NOT NULL,
    state_dir TEXT NOT NULL,
    labels TEXT NOT NULL,
    manually_stopped INTEGER NOT NULL DEFAULT 0,
    health TEXT
);
CREATE TABLE IF NOT EXISTS execs (
    id TEXT PRIMARY KEY,
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    created TEXT NOT NULL,
    config TEXT NOT NULL,
    running INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    exit_code INTEGER
);
CREATE INDEX IF NOT EXISTS execs_by_container ON execs(container_id);
"""


def rfc3339_now() -> str:
    """The current UTC time as dockerd writes it (RFC 3339, nanosecond field)."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"


@dataclass(frozen=True)
class ContainerRecord:
    """One container as stored. `name` has no leading "/"; `api_name` has it."""

    id: str
    name: str
    image_id: str
    image_ref: str
    created: str
    config: dict[str, Any] = field(default_factory=dict)
    host_config: dict[str, Any] = field(default_factory=dict)
    state: State = State.CREATED
    pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False
    error: str = ""
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    restart_count: int = 0
    state_dir: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    # dockerd's HasBeenManuallyStopped: a stop or kill by a client, until the next start;
    # restart policies "always" (while the daemon runs) and "unless-stopped" honour it.
    manually_stopped: bool = False
    # State.Health as the API shows it (estiba.engine.health.Health.to_api()); None for a
    # container whose check has never run (no check, or never started).
    health: dict[str, Any] | None = None

    @property
    def api_name(self) -> str:
        return "/" + self.name

    @property
    def short_id(self) -> str:
        return short_id(self.id)

    @property
    def running(self) -> bool:
        """dockerd's State.Running: true while running, paused or restarting."""
        return is_running(self.state)

    def container_config(self) -> ContainerConfig:
        """The stored Config and HostConfig, typed (and checked as at create)."""
        return ContainerConfig.from_api({**self.config, "HostConfig": self.host_config})


@dataclass(frozen=True)
class ExecRecord:
    """One exec instance; `exit_code` is None until it has run and ended."""

    id: str
    container_id: str
    created: str
    config: dict[str, Any] = field(default_factory=dict)
    running: bool = False
    pid: int = 0
    exit_code: int | None = None


@dataclass(frozen=True)
class ListFilters:
    """`docker ps --filter`: values of one key are alternatives, except labels (all must hold)."""

    status: tuple[State, ...] = ()
    names: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    ancestors: tuple[str, ...] = ()
    exited: tuple[int, ...] = ()
    health: tuple[str, ...] = ()
    before: str | None = None
    since: str | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any] | None) -> ListFilters:
        """Read `filters` of GET /containers/json: {key: [values]}, or {key: {value: true}}."""
        values: dict[str, list[str]] = {}
        for key, given in (raw or {}).items():
            if key not in _ACCEPTED_FILTERS:
                raise InvalidArgument(f"invalid filter '{key}'")
            if key in _UNSUPPORTED_FILTERS:
                raise Unsupported(f"the {key} filter is not supported yet")
            if isinstance(given, Mapping):
                given = [v for v, on in given.items() if on]
            elif isinstance(given, str):
                given = [given]
            values[key] = [str(v) for v in given]
        status = []
        for value in values.get("status", ()):
            try:
                status.append(State(value))
            except ValueError:
                raise InvalidArgument(f"Unrecognised filter value for status: {value}") from None
        exited = []
        for value in values.get("exited", ()):
            try:
                exited.append(int(value))
            except ValueError:
                raise InvalidArgument(f"invalid filter 'exited={value}'") from None
        for value in values.get("health", ()):
            if value not in HEALTH_STATUSES:
                raise InvalidArgument(f"Unrecognised filter value for health: {value}")
        return cls(
            status=tuple(status),
            names=tuple(values.get("name", ())),
            ids=tuple(values.get("id", ())),
            labels=tuple(values.get("label", ())),
            ancestors=tuple(values.get("ancestor", ())),
            exited=tuple(exited),
            health=tuple(values.get("health", ())),
            before=values["before"][-1] if values.get("before") else None,
            since=values["since"][-1] if values.get("since") else None,
        )


_ACCEPTED_FILTERS = frozenset(
    "ancestor before exited health id is-task label name network publish expose since"
    " status volume".split()
)
_UNSUPPORTED_FILTERS = frozenset("is-task network publish expose volume".split())
_MUTABLE = frozenset(f.name for f in fields(ContainerRecord)) - {"id", "name", "created", "state"}
_EXEC_REFUSALS = {
    State.PAUSED: "Container {} is paused, unpause the container before exec",
    State.RESTARTING: "Container {} is restarting, wait until the container is running",
}
_READS = frozenset({"get", "get_exec", "execs"})
_VOLATILE = frozenset({"add_exec", "update_exec", "remove_exec"})
_EXEC_MUTABLE = frozenset({"running", "pid", "exit_code", "config"})


class StoreTransaction:
    """The store's operations inside one open transaction (see `ContainerStore.batch`)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    # --- containers -------------------------------------------------------------------

    def add(self, record: ContainerRecord) -> ContainerRecord:
        """Insert a new container (state created); an empty name gets a random one."""
        if not _HEX64.fullmatch(record.id):
            raise InvalidArgument(f"invalid container id {record.id!r}: want 64 hex digits")
        if self._row("SELECT 1 FROM containers WHERE id = ?", record.id):
            raise Conflict(f"container {record.id} already exists")
        name = validate_name(record.name) if record.name else self._free_name(record.id)
        self._check_name_free(name)
        record = replace(record, name=name, state=State.CREATED)
        columns = [f.name for f in fields(ContainerRecord)]
        self._db.execute(
            f"INSERT INTO containers ({', '.join(columns)})"
            f" VALUES ({', '.join('?' * len(columns))})",
            [_to_column(getattr(record, c)) for c in columns],
        )
        return record

    def get(self, ref: str) -> ContainerRecord:
        """The container with this full id, name or unique id prefix."""
        if not ref:
            raise InvalidArgument("invalid container name or ID: value is empty")
        row = self._row("SELECT * FROM containers WHERE id = ?", ref) or self._row(
            "SELECT * FROM containers WHERE name = ?", ref.removeprefix("/")
        )
        if row is None and _HEX.fullmatch(ref):
            rows = self._db.execute(
                "SELECT * FROM containers WHERE id GLOB ? LIMIT 2", (ref + "*",)
            ).fetchall()
            if len(rows) > 1:
                raise InvalidArgument(f"multiple IDs found with provided prefix: {ref}")
            row = rows[0] if rows else None
        if row is None:
            raise NotFound(f"No such container: {ref}")
        return _record(row)

    def update_state(
        self, ref: str, event: Event | str | None = None, **changes: Any
    ) -> ContainerRecord:
        """Apply `event` (checked by the state machine) and `changes` in one step.

        Returns the record as written; after DESTROY the row is gone and the record
        returned is the last one stored.
        """
        unknown = set(changes) - _MUTABLE
        if unknown:
            raise InvalidArgument(f"cannot update container fields {sorted(unknown)}")
        current = self.get(ref)
        new_state = current.state
        if event is not None:
            new_state = transition(
                current.state, event, container_id=current.id, name=current.name
            )
        if new_state is None:
            self._db.execute("DELETE FROM containers WHERE id = ?", (current.id,))
            return current
        updated = replace(current, state=new_state, **changes)
        columns = ["state", *changes]
        self._db.execute(
            f"UPDATE containers SET {', '.join(c + ' = ?' for c in columns)} WHERE id = ?",
            [*(_to_column(getattr(updated, c)) for c in columns), current.id],
        )
        return updated

    def rename(self, ref: str, new_name: str) -> ContainerRecord:
        """Give the container a new name (dockerd's checks and messages)."""
        if not new_name:
            raise InvalidArgument("Neither old nor new names may be empty")
        name = validate_name(new_name)
        current = self.get(ref)
        if current.name == name:
            raise InvalidArgument("Renaming a container with the same name as its current name")
        self._check_name_free(name)
        self._db.execute("UPDATE containers SET name = ? WHERE id = ?", (name, current.id))
        return replace(current, name=name)

    def remove(self, ref: str) -> ContainerRecord:
        """Delete a container in state removing (see Event.REMOVE), with its execs."""
        return self.update_state(ref, Event.DESTROY)

    def all(self) -> list[ContainerRecord]:
        """Every container, newest first."""
        return [_record(r) for r in self._db.execute("SELECT * FROM containers ORDER BY seq DESC")]

    # --- exec instances ---------------------------------------------------------------

    def add_exec(self, record: ExecRecord) -> ExecRecord:
        container = self.get(record.container_id)
        if container.state is not State.RUNNING:
            refusal = _EXEC_REFUSALS.get(container.state, "Container {} is not running")
            raise Conflict(refusal.format(container.id))
        record = replace(record, container_id=container.id)
        self._db.execute(
            "INSERT INTO execs (id, container_id, created, config, running, pid, exit_code)"
            " VALUES (?,?,?,?,?,?,?)",
            [_to_column(getattr(record, f.name)) for f in fields(ExecRecord)],
        )
        return record

    def get_exec(self, exec_id: str) -> ExecRecord:
        row = self._row("SELECT * FROM execs WHERE id = ?", exec_id)
        if row is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        return _exec_record(row)

    def update_exec(self, exec_id: str, **changes: Any) -> ExecRecord:
        unknown = set(changes) - _EXEC_MUTABLE
        if unknown:
            raise InvalidArgument(f"cannot update exec fields {sorted(unknown)}")
        updated = replace(self.get_exec(exec_id), **changes)
        if changes:
            self._db.execute(
                f"UPDATE execs SET {', '.join(c + ' = ?' for c in changes)} WHERE id = ?",
                [*(_to_column(getattr(updated, c)) for c in changes), exec_id],
            )
        return updated

    def execs(self, container_ref: str, *, unfinished: bool = False) -> list[ExecRecord]:
        """The container's execs; `unfinished`: those without an exit code yet (created or
        running), which is what dockerd's inspect lists as ExecIDs."""
        container_id = self.get(container_ref).id
        rows = self._db.execute(
            "SELECT * FROM execs WHERE container_id = ?"
            + (" AND exit_code IS NULL" if unfinished else "") + " ORDER BY created, id",
            (container_id,),
        )
        return [_exec_record(r) for r in rows]

    def remove_exec(self, exec_id: str) -> None:
        self.get_exec(exec_id)
        self._db.execute("DELETE FROM execs WHERE id = ?", (exec_id,))

    # --- helpers ----------------------------------------------------------------------

    def _row(self, sql: str, *args: Any) -> sqlite3.Row | None:
        return self._db.execute(sql, args).fetchone()

    def _check_name_free(self, name: str) -> None:
        holder = self._row("SELECT id FROM containers WHERE name = ?", name)
        if holder is not None:
            raise Conflict(
                f'Conflict. The container name "/{name}" is already in use by container '
                f'"{holder["id"]}". You have to remove (or rename) that container to be able '
                "to reuse that name."
            )

    def _free_name(self, container_id: str) -> str:
        """dockerd's generateNewName: six random tries, then the short id."""
        for retry in range(6):
            name = random_name(retry)
            if self._row("SELECT 1 FROM containers WHERE name = ?", name) is None:
                return name
        return short_id(container_id)


class ContainerStore:
    """Containers and exec instances in one SQLite database (WAL), safe to share by threads.

    `ancestry(ref)` tells the image ids an `ancestor` filter value stands for (the image
    and its descendants); the engine gives it from the image store. Without it, an
    ancestor matches the image reference as given or an image id prefix.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        *,
        ancestry: Callable[[str], Iterable[str]] | None = None,
    ) -> None:
        self._ancestry = ancestry
        self._lock = threading.RLock()
        self._db = _open_db(db_path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def batch(self, *, write: bool = True) -> Iterator[StoreTransaction]:
        """One transaction for several changes: all of them are written, or none.

        `write=False` is a consistent read that doesn't take the database's write lock.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
                yield StoreTransaction(self._db)
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise SystemFault(f"the container database failed: {exc}") from exc
                raise

    def _one(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        if operation in _VOLATILE:
            return self._volatile(operation, *args, **kwargs)
        with self.batch(write=operation not in _READS) as tx:
            return getattr(tx, operation)(*args, **kwargs)

    def _volatile(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        """Exec records, committed without waiting for the disk: dockerd keeps them in
        memory only, so one lost in a power cut is no loss (the database stays whole; the
        next durable commit writes it down too). An fsync per record cost ~1 ms an exec."""
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                with self.batch() as tx:
                    return getattr(tx, operation)(*args, **kwargs)
            finally:
                self._db.execute("PRAGMA synchronous=FULL")

    def add(self, record: ContainerRecord) -> ContainerRecord:
        return self._one("add", record)

    def get(self, ref: str) -> ContainerRecord:
        return self._one("get", ref)

    def update_state(
        self, ref: str, event: Event | str | None = None, **changes: Any
    ) -> ContainerRecord:
        return self._one("update_state", ref, event, **changes)

    def rename(self, ref: str, new_name: str) -> ContainerRecord:
        return self._one("rename", ref, new_name)

    def remove(self, ref: str) -> ContainerRecord:
        return self._one("remove", ref)

    def add_exec(self, record: ExecRecord) -> ExecRecord:
        return self._one("add_exec", record)

    def get_exec(self, exec_id: str) -> ExecRecord:
        return self._one("get_exec", exec_id)

    def update_exec(self, exec_id: str, **changes: Any) -> ExecRecord:
        return self._one("update_exec", exec_id, **changes)

    def execs(self, container_ref: str, *, unfinished: bool = False) -> list[ExecRecord]:
        return self._one("execs", container_ref, unfinished=unfinished)

    def remove_exec(self, exec_id: str) -> None:
        self._one("remove_exec", exec_id)

    def list(
        self,
        filters: ListFilters | None = None,
        *,
        all: bool = False,  # noqa: A002 - docker's own word for it
        limit: int = -1,
        latest: bool = False,
    ) -> list[ContainerRecord]:
        """`docker ps`: newest first, the running ones unless `all`, a status filter or a limit."""
        filters = filters or ListFilters()
        if latest and limit <= 0:
            limit = 1
        if filters.status:
            all = True  # as dockerd: asking for a status means looking at every container
        with self.batch(write=False) as tx:
            before = tx.get(filters.before).id if filters.before else None
            since = tx.get(filters.since).id if filters.since else None
            records = tx.all()
        ancestors = self._ancestor_ids(filters.ancestors)
        chosen: list[ContainerRecord] = []
        for record in records:
            # The order of these checks is dockerd's (daemon/list.go includeContainerInList).
            if before is not None:
                if record.id == before:
                    before = None
                continue
            if record.id == since:
                break
            if not record.running and not all and limit <= 0:
                continue
            if _matches(record, filters, ancestors):
                chosen.append(record)
                if 0 < limit == len(chosen):
                    break
        return chosen

    def _ancestor_ids(self, values: tuple[str, ...]) -> set[str] | None:
        if not values or self._ancestry is None:
            return None
        ids: set[str] = set()
        for value in values:
            try:
                ids.update(self._ancestry(value))
            except NotFound:
                continue  # dockerd: an unknown ancestor matches nothing
        return ids


def _matches(record: ContainerRecord, f: ListFilters, ancestors: set[str] | None) -> bool:
    if f.names and not any(_go_match(p, record.api_name) for p in f.names):
        return False
    if f.ids and not any(_go_match(p, record.id) for p in f.ids):
        return False
    if f.status and record.state not in f.status:
        return False
    if f.exited and not (
        not record.running and record.started_at != ZERO_TIME and record.exit_code in f.exited
    ):
        return False
    if not all(_label_matches(want, record.labels) for want in f.labels):
        return False
    if f.health and (record.health or {}).get("Status", "none") not in f.health:
        return False
    if f.ancestors:
        if ancestors is not None:
            return record.image_id in ancestors
        return any(_ancestor_matches(a, record) for a in f.ancestors)
    return True


def _go_match(pattern: str, value: str) -> bool:
    """dockerd's filters.Match: equal, or the pattern as a regexp found anywhere in value."""
    if pattern == value:
        return True
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return False


def _label_matches(want: str, labels: Mapping[str, str]) -> bool:
    key, eq, value = want.partition("=")
    if key not in labels:
        return False
    return not eq or labels[key] == value


def _ancestor_matches(ancestor: str, record: ContainerRecord) -> bool:
    def latest(ref: str) -> str:
        return ref if ":" in ref.rsplit("/", 1)[-1] or "@" in ref else ref + ":latest"

    if latest(ancestor) == latest(record.image_ref):
        return True
    hex_part = ancestor.removeprefix("sha256:")
    return bool(_HEX.fullmatch(hex_part)) and record.image_id.removeprefix(
        "sha256:"
    ).startswith(hex_part)


def _to_column(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return int(value)
    return value


def _record(row: sqlite3.Row) -> ContainerRecord:
    values = {f.name: row[f.name] for f in fields(ContainerRecord)}
    for name in ("config", "host_config", "labels"):
        values[name] = json.loads(values[name])
    values["health"] = json.loads(values["health"]) if values["health"] else None
    return ContainerRecord(
        **values
        | {
            "state": State(row["state"]),
            "oom_killed": bool(row["oom_killed"]),
            "manually_stopped": bool(row["manually_stopped"]),
        }
    )


def _exec_record(row: sqlite3.Row) -> ExecRecord:
    values = {f.name: row[f.name] for f in fields(ExecRecord)}
    return ExecRecord(
        **values | {"config": json.loads(row["config"]), "running": bool(row["running"])}
    )


def _migrate(db: sqlite3.Connection) -> None:
    """Columns added since the first schema, added to databases made before them."""
    have = {row["name"] for row in db.execute("PRAGMA table_info(containers)")}
    if "manually_stopped" not in have:
        db.execute("ALTER TABLE containers ADD COLUMN manually_stopped INTEGER NOT NULL DEFAULT 0")
    if "health" not in have:
        db.execute("ALTER TABLE containers ADD COLUMN health TEXT")


def _open_db(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open (creating if needed) the database in WAL mode with durable commits."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(_SCHEMA)
        _migrate(db)
    except (OSError, sqlite3.Error) as exc:
        raise SystemFault(f"cannot open the container database {path}: {exc}") from exc
    return db

