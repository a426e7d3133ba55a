"""The pure parts of project snapshots: names (LXD's snapN, what volumes accept),
gathering container snapshots and volume copies into project snapshots, the dependency
order from labels, and `compose snapshot`'s words and listing."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from estiba.cli.base import UsageError
from estiba.cli.commands import compose_snapshot
from estiba.compose import labels
from estiba.compose.snapshots import copy_name, gather, next_name, service_order, validate_name
from estiba.errors import InvalidArgument
from estiba.volumes.options import validate_volume_name
from tests.unit.compose.test_snapshots_project import Box, FakeEngine


def test_next_name_is_the_first_free_snap_n() -> None:
    assert next_name([]) == "snap0"
    assert next_name(["snap0", "snap2", "mine"]) == "snap1"
    assert next_name({"snap0": 1, "snap1": 1}) == "snap2"


@pytest.mark.parametrize("name", ["snap0", "before-upgrade", "v1.2_3", "A"])
def test_valid_names_make_valid_volume_names(name: str) -> None:
    assert validate_name(name) == name
    validate_volume_name(copy_name("shop_data", name))


@pytest.mark.parametrize("name", ["", "-x", ".hidden", "a/b", "../x", "a b", "x" * 129])
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid snapshot name"):
        validate_name(name)


def _container(name: str, service: str, depends: str = "") -> dict:
    return {"Id": name * 4, "Names": [f"/{name}"], "Labels": {labels.SERVICE: service, labels.DEPENDS_ON: depends}}


def test_gather_joins_parts_by_name_oldest_first() -> None:
    web, db = _container("p-web-1", "web"), _container("p-db-1", "db")
    pairs = [
        (web, [{"Name": "b", "Created": "2026-01-02T00:00:00Z", "Size": 5},
               {"Name": "a", "Created": "2026-01-01T00:00:00Z", "Size": 7}]),
        (db, [{"Name": "a", "Created": "2026-01-01T00:00:01Z", "Size": 1}]),
    ]  # fmt: skip
    copies = [
        {"Name": "p_data.a", "CreatedAt": "2026-01-01T00:00:02Z", "Labels": {
            labels.SNAPSHOT: "a", labels.SNAPSHOT_VOLUME: "p_data",
            "estiba.compose.snapshot.labels": json.dumps({"k": "v"})}},
        {"Name": "p_data", "Labels": {labels.PROJECT: "p"}},  # no copy: ignored
    ]  # fmt: skip
    found = gather(pairs, copies, {"p_data.a": 100})
    assert list(found) == ["a", "b"]
    a = found["a"]
    assert [(p.container, p.service) for p in a.containers] == [("p-web-1", "web"), ("p-db-1", "db")]
    assert a.volumes[0].volume == "p_data" and a.volumes[0].original_labels == {"k": "v"}
    assert a.size == 7 + 1 + 100 and a.created == "2026-01-01T00:00:00Z"
    assert found["b"].size == 5 and found["b"].volumes == []


def test_service_order_follows_the_depends_on_labels() -> None:
    containers = [
        _container("p-web-1", "web", "api:service_started:false,cache:service_healthy:true"),
        _container("p-api-1", "api", "db:service_healthy:false"),
        _container("p-api-2", "api", "db:service_healthy:false"),
        _container("p-db-1", "db"),
        _container("p-cache-1", "cache", "gone:service_started:false"),  # not in the project any more
    ]
    order = service_order(containers)
    assert sorted(order) == ["api", "cache", "db", "web"]
    assert order.index("db") < order.index("api") < order.index("web")
    assert order.index("cache") < order.index("web")


@pytest.mark.parametrize(
    ("words", "expected"),
    [([], ("create", [])), (["mine"], ("create", ["mine"])), (["create", "ls"], ("create", ["ls"])),
     (["ls"], ("ls", [])), (["list"], ("ls", [])), (["rm", "a", "b"], ("rm", ["a", "b"]))],
)  # fmt: skip
def test_words(words: list[str], expected: tuple) -> None:
    assert compose_snapshot._action(words) == expected


@pytest.mark.parametrize(
    ("words", "message"),
    [(["a", "b"], "too many names: a b"), (["ls", "x"], "`snapshot ls` takes no argument"),
     (["rm"], "`snapshot rm` needs the name of at least one snapshot")],
)  # fmt: skip
def test_bad_words(words: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        compose_snapshot._action(words)


class Ctx:
    def __init__(self, client: FakeEngine) -> None:
        self.client = client
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        self.options = argparse.Namespace(progress="auto")

    def project_name(self) -> str:
        return "shop"

    def out(self, text: str) -> None:
        self.stdout.write(text + "\n")


def test_create_then_ls_through_the_command() -> None:
    engine = FakeEngine()
    engine.add(Box("d" * 12, "db", volumes=("shop_data",)))
    engine.volume("shop_data", {"f": "x"})
    ctx = Ctx(engine)
    args = argparse.Namespace(words=["first"], quiet=False, format=None)
    assert compose_snapshot.execute(ctx, args) == 0
    assert ctx.stdout.getvalue() == "first\n"
    assert " Volume shop_data  Copied to shop_data.first" in ctx.stderr.getvalue()

    ctx = Ctx(engine)
    compose_snapshot.execute(ctx, argparse.Namespace(words=["ls"], quiet=False, format=None))
    lines = ctx.stdout.getvalue().splitlines()
    assert lines[0].split() == ["NAME", "CREATED", "CONTAINERS", "VOLUMES", "SIZE"]
    assert lines[1].split() == ["first", "2026-11-28", "12:00:02", "UTC", "1", "1", "110B"]

    with pytest.raises(UsageError, match="-q and --format go with `snapshot ls` only"):
        compose_snapshot.execute(Ctx(engine), argparse.Namespace(words=["x"], quiet=True, format=None))
