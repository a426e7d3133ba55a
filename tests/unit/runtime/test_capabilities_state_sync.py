"""Capability masks and their order of application, the state store, and the sync channel."""

from __future__ import annotations

import os

import pytest

from estiba.errors import Conflict, InvalidArgument, NotFound, SystemFault
from estiba.runtime import capabilities as caps
from estiba.runtime import syscalls as sc
from estiba.runtime.spec import Capabilities
from estiba.runtime.state import (
    CREATED,
    RUNNING,
    STOPPED,
    ContainerState,
    StateStore,
    process_start_time,
    status_of,
    validate_id,
)
from estiba.runtime.sync import Channel, ChildDied, Msg


def test_masks_from_names_and_unknown_ones_warned():
    warnings = []
    spec = Capabilities(
        bounding=("CAP_CHOWN", "CAP_KILL", "CAP_NOT_REAL"),
        effective=("CAP_KILL",),
        permitted=("CAP_KILL",),
        inheritable=(),
        ambient=("CAP_KILL", "CAP_CHOWN"),
    )
    masks = caps.masks(spec, top=40, warn=warnings.append)
    assert masks.bounding == (1 << 0) | (1 << 5)
    assert masks.effective == 1 << 5
    assert masks.ambient == (0, 5)
    assert warnings == ["ignoring unknown or unavailable capabilities: CAP_NOT_REAL"]


def test_capabilities_above_the_kernels_last_are_ignored():
    masks = caps.masks(Capabilities(bounding=("CAP_CHECKPOINT_RESTORE",)), top=39, warn=lambda _: None)
    assert masks.bounding == 0


def test_bounding_drop_and_sets_in_order():
    calls = sc.RecordingSyscalls()
    masks = caps.CapabilityMasks(bounding=0b101, effective=0b1, permitted=0b11, inheritable=0b1, ambient=(0, 1))
    caps.drop_bounding(calls, masks.bounding, top=3)
    caps.apply_sets(calls, masks)
    drops = [c[2] for c in calls.calls if c[0] == "prctl" and c[1] == sc.PR_CAPBSET_DROP]
    assert drops == [1, 3]
    assert ("capset", 0b1, 0b11, 0b1) in calls.calls
    raised = [c[3] for c in calls.calls if c[0] == "prctl" and c[1] == sc.PR_CAP_AMBIENT and c[2] == sc.PR_CAP_AMBIENT_RAISE]
    assert raised == [0]  # 1 is permitted but not inheritable: skipped, as the kernel would refuse it


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a b", "x;y"])
def test_invalid_ids(bad):
    with pytest.raises(InvalidArgument):
        validate_id(bad)


def _state(cid: str, pid: int) -> ContainerState:
    return ContainerState(
        id=cid, pid=pid, bundle="/b", rootfs="/b/rootfs", created="now",
        init_start_time=process_start_time(pid) or 0, cgroup_paths={}, cgroup_mode="v1", config={},
    )


def test_store_claims_saves_loads_lists_and_removes(tmp_path):
    store = StateStore(str(tmp_path / "root"))
    store.make_dir("c1")
    with pytest.raises(Conflict, match='"c1" already exists'):
        store.make_dir("c1")
    store.save(_state("c1", os.getpid()))
    assert store.load("c1").pid == os.getpid()
    assert store.ids() == ["c1"]
    store.remove("c1")
    assert store.ids() == []
    assert not (tmp_path / "root" / "c1").exists()
    with pytest.raises(NotFound):
        store.load("c1")


def test_status_is_observed_not_stored(tmp_path):
    store = StateStore(str(tmp_path))
    store.make_dir("c1")
    state = _state("c1", os.getpid())
    fifo = tmp_path / "c1" / "exec.fifo"
    os.mkfifo(fifo)
    assert status_of(store, state) == CREATED
    fifo.unlink()
    assert status_of(store, state) == RUNNING
    recycled = state._replace(init_start_time=state.init_start_time + 1)
    assert status_of(store, recycled) == STOPPED  # same pid, another process


def test_damaged_state_file(tmp_path):
    store = StateStore(str(tmp_path))
    store.make_dir("c1")
    (tmp_path / "c1" / "state.json").write_text("{")
    with pytest.raises(InvalidArgument, match="damaged"):
        store.load("c1")


def test_channel_roundtrip_and_errors():
    parent, child = Channel.pair()
    child.send(Msg.PID, 42)
    assert parent.expect(Msg.PID) == 42
    child.send(Msg.ERROR, "mount failed")
    with pytest.raises(SystemFault, match="mount failed"):
        parent.expect(Msg.READY)
    child.send(Msg.DONE)
    with pytest.raises(SystemFault, match="out of step"):
        parent.expect(Msg.READY)
    child.close()
    with pytest.raises(ChildDied):
        parent.recv()
    parent.close()


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["run", "-b", "x", "id"], "run"),
        (["--root", "/r", "--log", "/l", "state", "id"], "state"),
        (["--root=/r", "--debug", "delete", "-f", "id"], "delete"),
        (["--log-format", "json", "features"], "features"),
        (["--root", "run"], None),  # "run" is --root's value: no command given
        (["--help"], None),
        (["bogus", "x"], None),
    ],
)
def test_the_cli_finds_its_command_past_global_options(argv, command):
    from estiba.runtime.cli import command_in

    assert command_in(argv) == command
