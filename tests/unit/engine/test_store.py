"""The container store: CRUD, lookups, state changes, transactions, and every ps filter."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from estiba.engine.names import new_id
from estiba.engine.states import Event, State
from estiba.engine.store import (
    ZERO_TIME,
    ContainerRecord,
    ContainerStore,
    ExecRecord,
    ListFilters,
    rfc3339_now,
)
from estiba.errors import (
    Conflict,
    InvalidArgument,
    NotFound,
    NotModified,
    SystemFault,
    Unsupported,
)

IMAGE = "sha256:" + "ab" * 32


@pytest.fixture
def store(tmp_path: Path) -> ContainerStore:
    s = ContainerStore(tmp_path / "db" / "containers.db")
    yield s
    s.close()


def record(name: str = "", *, cid: str | None = None, **kw: object) -> ContainerRecord:
    values: dict = dict(image_id=IMAGE, image_ref="busybox", created=rfc3339_now())
    values.update(kw)
    return ContainerRecord(id=cid or new_id(), name=name, **values)


def started(store: ContainerStore, name: str, **kw: object) -> ContainerRecord:
    added = store.add(record(name, **kw))
    return store.update_state(added.id, Event.START, pid=42, started_at=rfc3339_now())


def exited(store: ContainerStore, name: str, code: int, **kw: object) -> ContainerRecord:
    started(store, name, **kw)
    return store.update_state(name, Event.DIE, pid=0, exit_code=code, finished_at=rfc3339_now())


# --- database -------------------------------------------------------------------------


def test_database_is_in_wal_mode(store: ContainerStore, tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "db" / "containers.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_records_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    first = ContainerStore(path)
    added = first.add(record("web", config={"Cmd": ["sh"]}, labels={"a": "1"}))
    first.close()
    again = ContainerStore(path)
    assert again.get("web") == added
    again.close()


# --- add and get ----------------------------------------------------------------------


def test_add_and_get_round_trip_every_field(store: ContainerStore) -> None:
    given = record(
        "/web",
        config={"Cmd": ["echo", "hi"], "Tty": False},
        host_config={"Memory": 1024},
        labels={"tier": "front"},
        state_dir="/run/estiba/x",
    )
    added = store.add(given)
    assert added.name == "web" and added.api_name == "/web"
    assert added.state is State.CREATED
    assert added.started_at == ZERO_TIME and added.exit_code == 0
    assert store.get(added.id) == added


def test_add_without_a_name_draws_a_random_one(store: ContainerStore) -> None:
    added = store.add(record(""))
    assert "_" in added.name
    assert store.get(added.name).id == added.id


def test_add_rejects_bad_ids_and_names(store: ContainerStore) -> None:
    with pytest.raises(InvalidArgument, match="64 hex"):
        store.add(record("web", cid="abc"))
    with pytest.raises(InvalidArgument, match=r"Invalid container name \(w\)"):
        store.add(record("w"))


def test_a_taken_name_is_dockers_conflict(store: ContainerStore) -> None:
    first = store.add(record("web"))
    with pytest.raises(Conflict) as caught:
        store.add(record("/web"))
    assert caught.value.message == (
        f'Conflict. The container name "/web" is already in use by container "{first.id}". '
        "You have to remove (or rename) that container to be able to reuse that name."
    )


def test_a_taken_id_is_a_conflict(store: ContainerStore) -> None:
    first = store.add(record("a1"))
    with pytest.raises(Conflict):
        store.add(record("b1", cid=first.id))


@pytest.mark.parametrize("connections", [1, 2])
def test_unique_names_under_concurrent_inserts(tmp_path: Path, connections: int) -> None:
    """Eight threads race for one name, through one store or two stores on one file."""
    stores = [ContainerStore(tmp_path / "c.db") for _ in range(connections)]
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def insert(i: int) -> None:
        store = stores[i % connections]
        barrier.wait()
        for name in ("shared", f"own{i}"):
            try:
                store.add(record(name))
                outcomes.append(name)
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("shared") == 1 and outcomes.count("conflict") == 7
    assert len(stores[-1].list(all=True)) == 9
    for store in stores:
        store.close()


@pytest.mark.parametrize("how", ["full", "prefix", "short", "name", "slash-name"])
def test_get_resolves_ids_prefixes_and_names(store: ContainerStore, how: str) -> None:
    added = store.add(record("web", cid="abcdef" + "1" * 58))
    store.add(record("other", cid="123456" + "2" * 58))
    ref = {
        "full": added.id,
        "prefix": "abc",
        "short": added.short_id,
        "name": "web",
        "slash-name": "/web",
    }[how]
    assert store.get(ref).id == added.id


def test_an_ambiguous_prefix_is_invalid(store: ContainerStore) -> None:
    store.add(record("one", cid="abc1" + "0" * 60))
    store.add(record("two", cid="abc2" + "0" * 60))
    with pytest.raises(InvalidArgument) as caught:
        store.get("abc")
    assert caught.value.message == "multiple IDs found with provided prefix: abc"
    assert store.get("abc1").name == "one"


def test_a_name_wins_over_a_prefix(store: ContainerStore) -> None:
    store.add(record("first", cid="beef" + "0" * 60))
    named = store.add(record("beef", cid="cafe" + "0" * 60))
    assert store.get("beef").id == named.id


@pytest.mark.parametrize("ref", ["nope", "fff", "/nope"])
def test_not_found(store: ContainerStore, ref: str) -> None:
    store.add(record("web", cid="abc" + "0" * 61))
    with pytest.raises(NotFound) as caught:
        store.get(ref)
    assert caught.value.message == f"No such container: {ref}"


def test_an_empty_reference_is_invalid(store: ContainerStore) -> None:
    with pytest.raises(InvalidArgument):
        store.get("")


# --- state changes --------------------------------------------------------------------


def test_update_state_checks_the_machine_and_writes_fields(store: ContainerStore) -> None:
    added = store.add(record("web"))
    running = store.update_state("web", Event.START, pid=99, started_at="2026-01-01T00:00:00Z")
    assert (running.state, running.pid) == (State.RUNNING, 99)
    assert store.get(added.id) == running
    with pytest.raises(NotModified):
        store.update_state("web", Event.START, pid=1)
    assert store.get("web").pid == 99  # a refused change writes nothing
    with pytest.raises(Conflict, match="container is running"):
        store.update_state("web", Event.REMOVE)
    dead = store.update_state("web", Event.DIE, exit_code=137, oom_killed=True)
    assert (dead.state, dead.exit_code, dead.oom_killed) == (State.EXITED, 137, True)
    assert store.get("web") == dead


def test_update_without_event_keeps_the_state(store: ContainerStore) -> None:
    started(store, "web")
    assert store.update_state("web", restart_count=3).state is State.RUNNING
    assert store.get("web").restart_count == 3


def test_update_refuses_unknown_or_identity_fields(store: ContainerStore) -> None:
    store.add(record("web"))
    for field in ("name", "id", "state", "colour"):
        with pytest.raises(InvalidArgument):
            store.update_state("web", **{field: "x"})


def test_remove_goes_through_removing(store: ContainerStore) -> None:
    added = store.add(record("web"))
    with pytest.raises(Conflict):
        store.remove("web")
    store.update_state("web", Event.REMOVE)
    assert store.remove("web").id == added.id
    with pytest.raises(NotFound):
        store.get(added.id)
    store.add(record("web"))  # the name is free again


def test_rename(store: ContainerStore) -> None:
    added = store.add(record("web"))
    store.add(record("db"))
    assert store.rename("web", "/front").name == "front"
    assert store.get("front").id == added.id
    with pytest.raises(NotFound):
        store.get("web")
    with pytest.raises(Conflict, match='"/db" is already in use'):
        store.rename("front", "db")
    with pytest.raises(InvalidArgument, match="same name"):
        store.rename("front", "front")
    with pytest.raises(InvalidArgument, match="Invalid container name"):
        store.rename("front", "-x")


# --- transactions ---------------------------------------------------------------------


def test_a_failure_inside_a_batch_leaves_no_partial_rows(store: ContainerStore) -> None:
    store.add(record("keep"))
    with pytest.raises(RuntimeError):
        with store.batch() as tx:
            tx.add(record("half"))
            tx.update_state("keep", Event.START, pid=7)
            raise RuntimeError("crash between the writes")
    assert [r.name for r in store.list(all=True)] == ["keep"]
    assert store.get("keep").state is State.CREATED and store.get("keep").pid == 0


def test_a_refused_step_rolls_back_the_whole_batch(store: ContainerStore) -> None:
    with pytest.raises(Conflict):
        with store.batch() as tx:
            tx.add(record("one"))
            tx.add(record("one"))
    assert store.list(all=True) == []


def test_a_batch_commits_all_its_changes(store: ContainerStore) -> None:
    with store.batch() as tx:
        a = tx.add(record("aa"))
        tx.update_state(a.id, Event.START)
        tx.add(record("bb"))
    assert {r.name for r in store.list(all=True)} == {"aa", "bb"}
    assert store.get("aa").state is State.RUNNING


# --- exec instances -------------------------------------------------------------------


def test_exec_lifecycle_and_cascade(store: ContainerStore) -> None:
    container = started(store, "web")
    exec_id = new_id()
    store.add_exec(ExecRecord(exec_id, "web", rfc3339_now(), config={"Cmd": ["sh"]}))
    assert store.get_exec(exec_id).container_id == container.id
    done = store.update_exec(exec_id, running=False, exit_code=3, pid=0)
    assert store.get_exec(exec_id) == done and done.exit_code == 3
    assert store.execs("web") == [done]
    store.update_state("web", Event.DIE)
    store.update_state("web", Event.REMOVE)
    store.remove("web")
    with pytest.raises(NotFound, match="No such exec instance"):
        store.get_exec(exec_id)


def test_unfinished_execs_are_the_created_and_running_ones(store: ContainerStore, tmp_path: Path) -> None:
    started(store, "web")
    ids = [new_id() for _ in range(3)]
    for exec_id in ids:
        store.add_exec(ExecRecord(exec_id, "web", rfc3339_now()))
    store.update_exec(ids[0], running=False, exit_code=0)  # ended
    store.update_exec(ids[1], running=True, pid=42)  # running; ids[2] never started
    assert {e.id for e in store.execs("web", unfinished=True)} == {ids[1], ids[2]}
    assert len(store.execs("web")) == 3  # ended ones are still inspectable
    # Committed without an fsync of their own, but committed: another connection sees them,
    # and the store is back to durable commits for everything else.
    other = ContainerStore(tmp_path / "db" / "containers.db")
    try:
        assert other.get_exec(ids[0]).exit_code == 0
    finally:
        other.close()
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_exec_needs_a_running_container(store: ContainerStore) -> None:
    added = store.add(record("web"))
    with pytest.raises(Conflict, match=f"Container {added.id} is not running"):
        store.add_exec(ExecRecord(new_id(), "web", rfc3339_now()))
    store.update_state("web", Event.START)
    store.update_state("web", Event.PAUSE)
    with pytest.raises(Conflict, match="is paused, unpause the container before exec"):
        store.add_exec(ExecRecord(new_id(), "web", rfc3339_now()))


def test_remove_exec(store: ContainerStore) -> None:
    started(store, "web")
    exec_id = new_id()
    store.add_exec(ExecRecord(exec_id, "web", rfc3339_now()))
    store.remove_exec(exec_id)
    assert store.execs("web") == []
    with pytest.raises(NotFound):
        store.remove_exec(exec_id)


# --- docker ps ------------------------------------------------------------------------


@pytest.fixture
def fleet(store: ContainerStore) -> ContainerStore:
    """Oldest to newest: made, web (running), job0 (exited 0), job1 (exited 1), db (paused)."""
    store.add(record("made", cid="aa" + "0" * 62, labels={"tier": "none"}))
    started(store, "web", cid="ab" + "0" * 62, labels={"tier": "front", "x": ""})
    exited(store, "job0", 0, cid="ba" + "0" * 62, image_ref="debian:bookworm",
           image_id="sha256:" + "cd" * 32)
    exited(store, "job1", 1, cid="bb" + "0" * 62, labels={"tier": "batch"})
    started(store, "db", cid="cc" + "0" * 62, labels={"tier": "back"})
    store.update_state("db", Event.PAUSE)
    return store


def names_of(records: list[ContainerRecord]) -> list[str]:
    return [r.name for r in records]


def ps(store: ContainerStore, filters: dict | None = None, **kw: object) -> list[str]:
    return names_of(store.list(ListFilters.from_api(filters), **kw))


def test_ps_shows_running_newest_first_and_all_shows_every_one(fleet: ContainerStore) -> None:
    assert ps(fleet) == ["db", "web"]
    assert ps(fleet, all=True) == ["db", "job1", "job0", "web", "made"]


def test_ps_limit_and_latest_include_stopped(fleet: ContainerStore) -> None:
    assert ps(fleet, limit=2) == ["db", "job1"]
    assert ps(fleet, latest=True) == ["db"]
    assert ps(fleet, {"status": ["exited"]}, latest=True) == ["job1"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": ["exited"]}, ["job1", "job0"]),
        ({"status": ["created", "paused"]}, ["db", "made"]),
        ({"status": {"running": True}}, ["web"]),
        ({"name": ["job"]}, ["job1", "job0"]),
        ({"name": ["^/w"]}, ["web"]),
        ({"name": ["job.$"]}, ["job1", "job0"]),
        ({"name": ["/web"]}, ["web"]),
        ({"name": ["[bad"]}, []),
        ({"id": ["b"]}, ["job1", "job0", "web"]),
        ({"id": ["^b"]}, ["job1", "job0"]),
        ({"id": ["cc" + "0" * 62]}, ["db"]),
        ({"label": ["tier"]}, ["db", "job1", "web", "made"]),
        ({"label": ["tier=front"]}, ["web"]),
        ({"label": ["tier=front", "x"]}, ["web"]),
        ({"label": ["tier=front", "tier=back"]}, []),
        ({"label": ["x="]}, ["web"]),
        ({"ancestor": ["debian:bookworm"]}, ["job0"]),
        ({"ancestor": ["busybox:latest"]}, ["db", "job1", "web", "made"]),
        ({"ancestor": ["cdcd"]}, ["job0"]),
        ({"ancestor": ["sha256:" + "cd" * 32, "busybox"]}, ["db", "job1", "job0", "web", "made"]),
        ({"exited": ["0"]}, ["job0"]),
        ({"exited": ["1", "0"]}, ["job1", "job0"]),
        ({"exited": ["0"], "label": ["tier"]}, []),
        ({"before": ["job0"]}, ["web", "made"]),
        ({"since": ["job0"]}, ["db", "job1"]),
        ({"since": ["web"], "before": ["db"]}, ["job1", "job0"]),
        ({"before": ["aa" + "0" * 62]}, []),
    ],
)
def test_ps_filters(fleet: ContainerStore, filters: dict, expected: list[str]) -> None:
    assert ps(fleet, filters, all=True) == expected


def test_status_filter_implies_all_but_others_do_not(fleet: ContainerStore) -> None:
    assert ps(fleet, {"status": ["exited"]}) == ["job1", "job0"]
    assert ps(fleet, {"label": ["tier"]}) == ["db", "web"]
    assert ps(fleet, {"before": ["db"]}) == ["web"]


def test_exited_needs_a_container_that_ran(store: ContainerStore) -> None:
    store.add(record("never"))  # exit code 0 but never started
    assert ps(store, {"exited": ["0"]}, all=True) == []


def test_ancestor_uses_the_engines_image_ancestry(tmp_path: Path) -> None:
    child = "sha256:" + "ee" * 32
    lineage = {"base": [IMAGE, child]}

    def ancestry(ref: str) -> list[str]:
        if ref not in lineage:
            raise NotFound(f"No such image: {ref}")
        return lineage[ref]

    store = ContainerStore(tmp_path / "c.db", ancestry=ancestry)
    store.add(record("parent"))
    store.add(record("child", image_id=child, image_ref="app"))
    store.add(record("stranger", image_id="sha256:" + "99" * 32, image_ref="other"))
    assert ps(store, {"ancestor": ["base"]}, all=True) == ["child", "parent"]
    assert ps(store, {"ancestor": ["missing"]}, all=True) == []
    store.close()


def test_before_or_since_an_unknown_container_is_not_found(fleet: ContainerStore) -> None:
    with pytest.raises(NotFound):
        ps(fleet, {"before": ["nope"]})


@pytest.mark.parametrize(
    ("filters", "kind", "message"),
    [
        ({"colour": ["red"]}, InvalidArgument, "invalid filter 'colour'"),
        ({"status": ["zzz"]}, InvalidArgument, "Unrecognised filter value for status: zzz"),
        ({"exited": ["x"]}, InvalidArgument, "invalid filter 'exited=x'"),
        ({"network": ["bridge"]}, Unsupported, "the network filter is not supported yet"),
    ],
)
def test_bad_filters(filters: dict, kind: type, message: str) -> None:
    with pytest.raises(kind) as caught:
        ListFilters.from_api(filters)
    assert caught.value.message == message


def test_an_unopenable_database_is_a_system_fault(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(SystemFault, match="cannot open the container database"):
        ContainerStore(tmp_path / "taken")


def test_the_stored_config_reads_back_typed(store: ContainerStore) -> None:
    added = store.add(
        record("web", config={"Image": "busybox", "Cmd": ["sh"]}, host_config={"Memory": 64 << 20})
    )
    config = store.get(added.id).container_config()
    assert config.cmd == ("sh",) and config.host_config.memory == 64 << 20
