"""The container lifecycle as a user of the CLI sees it, through estiba-runtime and runc.

create leaves the program waiting, start releases it, state follows created -> running ->
stopped (or paused), and delete removes the state and the cgroups; list, ps and
`events --stats` describe what is there; misuse (start twice, kill a stopped container,
a duplicate or malformed id) fails with one line.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.runtime.helpers import cgroup_dirs, container_id, one_line, wait_for, wait_status

SLEEPER = ["/bin/sh", "-c", "echo started; exec sleep 60"]


def test_create_waits_for_start_then_runs(any_runtime, make_bundle, tmp_path) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("life")
    pid_file = tmp_path / "pid"

    any_runtime.create(bundle, cid, "--pid-file", str(pid_file), check=True)

    created = any_runtime.state(cid)
    assert created["status"] == "created"
    assert created["id"] == cid and created["bundle"] == str(bundle)
    assert created["pid"] > 0 and pid_file.read_text() == str(created["pid"])
    assert os.path.exists(f"/proc/{created['pid']}")
    time.sleep(0.3)
    assert any_runtime.output(cid) == ""  # blocked before the user's program

    any_runtime.start(cid, check=True)

    wait_for(lambda: any_runtime.output(cid) == "started\n", what="program output")
    running = any_runtime.state(cid)
    assert (running["status"], running["pid"]) == ("running", created["pid"])
    again = any_runtime.start(cid)
    assert again.returncode == 1
    assert "running" in one_line(again)

    any_runtime.kill(cid, "KILL", check=True)

    assert wait_status(any_runtime, cid, "stopped")["pid"] == 0
    assert cgroup_dirs(cid)  # still there until delete

    any_runtime.delete(cid, check=True)

    assert any_runtime.cmd("state", cid).returncode == 1
    assert os.listdir(any_runtime.root) == []
    assert cgroup_dirs(cid) == []


def test_state_matches_the_spec_schema(any_runtime, make_bundle) -> None:
    schema_dir = Path(__file__).resolve().parents[4] / "shared/reference/oci-runtime-spec-schema"
    if not (schema_dir / "state-schema.json").exists():
        pytest.skip(f"OCI runtime schemas not found in {schema_dir}")
    import jsonschema

    schema = json.loads((schema_dir / "state-schema.json").read_text())
    # The two $refs point into defs.json; plain types are enough to check the shape.
    schema["properties"]["ociVersion"] = {"type": "string"}
    schema["properties"]["annotations"] = {"type": "object", "additionalProperties": {"type": "string"}}
    bundle = make_bundle(args=SLEEPER, annotations={"org.example.key": "value"})
    cid = container_id("schema")
    any_runtime.create(bundle, cid, check=True)

    created = any_runtime.state(cid)
    any_runtime.start(cid, check=True)
    running = any_runtime.state(cid)

    for state in (created, running):
        jsonschema.Draft4Validator(schema).validate(state)
    assert created["annotations"] == {"org.example.key": "value"}


def test_run_detached_writes_pid_file(any_runtime, make_bundle, tmp_path) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("rund")
    pid_file = tmp_path / "run.pid"

    result = any_runtime.run(bundle, cid, "-d", "--pid-file", str(pid_file))

    assert result.returncode == 0, result.stderr
    state = any_runtime.state(cid)
    assert state["status"] == "running"
    assert pid_file.read_text() == str(state["pid"])
    wait_for(lambda: any_runtime.output(cid) == "started\n", what="program output")


def test_run_in_foreground_returns_the_exit_code_and_deletes(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=["/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
    cid = container_id("runfg")

    result = any_runtime.run(bundle, cid)

    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert any_runtime.cmd("state", cid).returncode == 1
    assert cgroup_dirs(cid) == []


def test_list_table_json_and_quiet(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=SLEEPER)
    first, second = container_id("lista"), container_id("listb")
    any_runtime.create(bundle, first, check=True)
    any_runtime.run(bundle, second, "-d", check=True)
    pids = {cid: any_runtime.state(cid)["pid"] for cid in (first, second)}

    table = any_runtime.cmd("list", check=True).stdout.splitlines()
    listed = json.loads(any_runtime.cmd("list", "--format", "json", check=True).stdout)
    quiet = any_runtime.cmd("list", "-q", check=True).stdout.split()

    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    rows = {row.split()[0]: row.split() for row in table[1:]}
    assert rows[first][1:4] == [str(pids[first]), "created", str(bundle)]
    assert rows[second][1:4] == [str(pids[second]), "running", str(bundle)]
    assert {(s["id"], s["pid"], s["status"]) for s in listed} == {
        (first, pids[first], "created"), (second, pids[second], "running")
    }
    assert sorted(quiet) == sorted([first, second])


def test_list_of_an_empty_root(any_runtime) -> None:
    table = any_runtime.cmd("list", check=True).stdout.splitlines()

    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert table[1:] == []
    assert any_runtime.cmd("list", "-q", check=True).stdout == ""


def test_pause_freezes_the_program_and_resume_thaws_it(any_runtime, make_bundle) -> None:
    counter = "i=0; while :; do i=$((i+1)); echo $i > /count.tmp; mv /count.tmp /count; sleep 0.02; done"
    bundle = make_bundle(args=["/bin/sh", "-c", counter], root={"readonly": False})
    count_file = bundle / "rootfs" / "count"
    cid = container_id("pause")
    any_runtime.run(bundle, cid, "-d", check=True)

    def count() -> int:
        text = count_file.read_text().strip() if count_file.exists() else ""
        return int(text) if text else 0

    wait_for(lambda: count() > 2, what="the counter to start")

    any_runtime.cmd("pause", cid, check=True)

    assert any_runtime.state(cid)["status"] == "paused"
    frozen_at = count()
    time.sleep(0.4)
    assert count() == frozen_at
    again = any_runtime.cmd("pause", cid)
    assert again.returncode == 1 and one_line(again)

    any_runtime.cmd("resume", cid, check=True)

    assert any_runtime.state(cid)["status"] == "running"
    wait_for(lambda: count() > frozen_at + 2, what="the counter to move again")
    not_paused = any_runtime.cmd("resume", cid)
    assert not_paused.returncode == 1 and one_line(not_paused)


def test_delete_of_a_paused_container_with_force(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("delpause")
    any_runtime.run(bundle, cid, "-d", check=True)
    any_runtime.cmd("pause", cid, check=True)

    any_runtime.delete(cid, force=True, check=True)

    assert any_runtime.cmd("state", cid).returncode == 1
    wait_for(lambda: cgroup_dirs(cid) == [], what="cgroups removed")


def test_ps_table_and_json(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("ps")
    any_runtime.run(bundle, cid, "-d", check=True)
    init_pid = any_runtime.state(cid)["pid"]
    any_runtime.exec(cid, "sleep", "50", opts=["-d"], check=True)

    listed = json.loads(any_runtime.cmd("ps", "--format", "json", cid, check=True).stdout)
    table = any_runtime.cmd("ps", cid, check=True).stdout.splitlines()

    assert init_pid in listed and len(listed) == 2
    header = table[0].split()
    assert "PID" in header and "CMD" in header
    pid_column = header.index("PID")
    assert sorted(int(row.split()[pid_column]) for row in table[1:]) == sorted(listed)
    assert any(row.endswith("sleep 50") for row in table[1:])


def test_events_stats_shape(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("stats")
    any_runtime.run(bundle, cid, "-d", check=True)

    result = any_runtime.cmd("events", "--stats", cid, check=True)

    event = json.loads(result.stdout)
    assert (event["type"], event["id"]) == ("stats", cid)
    data = event["data"]
    assert {"cpu", "memory", "pids", "blkio"} <= set(data)
    assert data["cpu"]["usage"]["total"] > 0
    assert isinstance(data["cpu"]["usage"]["percpu"], list)
    assert data["memory"]["usage"]["usage"] > 0
    assert data["pids"]["current"] >= 1


def test_id_can_be_reused_after_delete(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=["/bin/echo", "hi"])
    cid = container_id("reuse")

    first = any_runtime.run(bundle, cid)
    second = any_runtime.run(bundle, cid)

    assert (first.returncode, first.stdout) == (0, "hi\n")
    assert (second.returncode, second.stdout) == (0, "hi\n")


def test_duplicate_id_is_refused_and_the_first_container_kept(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("dup")
    any_runtime.create(bundle, cid, check=True)
    before = any_runtime.state(cid)

    result = any_runtime.create(bundle, cid)

    assert result.returncode == 1
    assert "already exists" in one_line(result)
    assert any_runtime.state(cid) == before
    any_runtime.start(cid, check=True)
    wait_for(lambda: any_runtime.output(cid) == "started\n", what="the first container to run")


def test_invalid_ids_are_refused(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=SLEEPER)

    for bad_id in ("has/slash", "..", "with space", ""):
        # Not `create()`: it names its log files after the id.
        result = any_runtime.cmd("create", "--bundle", bundle, bad_id, timeout=15)

        assert result.returncode == 1, bad_id
        line = one_line(result).lower()
        assert "invalid container id" in line or "id cannot be empty" in line
    assert os.listdir(any_runtime.root) == []


def test_delete_after_the_process_was_killed_from_outside(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("outside")
    any_runtime.run(bundle, cid, "-d", check=True)
    pid = any_runtime.state(cid)["pid"]
    assert cgroup_dirs(cid)

    os.kill(pid, signal.SIGKILL)
    wait_status(any_runtime, cid, "stopped")
    result = any_runtime.delete(cid)

    assert result.returncode == 0, result.stderr
    assert any_runtime.cmd("state", cid).returncode == 1
    assert cgroup_dirs(cid) == []


def test_delete_of_a_running_container_needs_force(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("delrun")
    any_runtime.run(bundle, cid, "-d", check=True)

    refused = any_runtime.delete(cid)

    assert refused.returncode == 1
    assert "not stopped" in one_line(refused)
    assert any_runtime.state(cid)["status"] == "running"
    any_runtime.delete(cid, force=True, check=True)
    assert any_runtime.cmd("state", cid).returncode == 1
    assert cgroup_dirs(cid) == []


def test_delete_force_of_a_missing_container_succeeds(any_runtime) -> None:
    forced = any_runtime.delete("never-made", force=True)
    plain = any_runtime.delete("never-made")

    assert (forced.returncode, forced.stderr) == (0, "")
    assert plain.returncode == 1
    assert "does not exist" in one_line(plain)


def test_kill_of_a_stopped_container_fails(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("killstop")
    any_runtime.run(bundle, cid, "-d", check=True)
    any_runtime.kill(cid, "KILL", check=True)
    wait_status(any_runtime, cid, "stopped")

    result = any_runtime.kill(cid, "KILL")

    assert result.returncode == 1
    assert "not running" in one_line(result)


def test_kill_with_a_signal_name_the_program_handles(any_runtime, make_bundle) -> None:
    trap = "trap 'echo got-usr1; exit 0' USR1; echo ready; while :; do sleep 0.05; done"
    bundle = make_bundle(args=["/bin/sh", "-c", trap])
    cid = container_id("sig")
    any_runtime.run(bundle, cid, "-d", check=True)
    wait_for(lambda: any_runtime.output(cid) == "ready\n", what="the trap")

    any_runtime.kill(cid, "USR1", check=True)

    wait_for(lambda: "got-usr1" in any_runtime.output(cid), what="the signal handler")
    wait_status(any_runtime, cid, "stopped")


def test_commands_on_a_missing_container(any_runtime) -> None:
    for args in (["state", "nope"], ["start", "nope"], ["kill", "nope", "KILL"], ["pause", "nope"],
                 ["exec", "nope", "true"]):
        result = any_runtime.cmd(*args)
        assert result.returncode != 0, args
        assert "does not exist" in one_line(result), args


def test_delete_of_a_created_container_needs_no_force(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("delcreated")
    any_runtime.create(bundle, cid, check=True)
    pid = any_runtime.state(cid)["pid"]

    any_runtime.delete(cid, check=True)

    assert any_runtime.cmd("state", cid).returncode == 1
    assert cgroup_dirs(cid) == []
    wait_for(lambda: not _alive(pid), what="the waiting process to go")
    assert any_runtime.output(cid) == ""


def test_start_of_a_container_killed_before_start_fails(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("killcreated")
    any_runtime.create(bundle, cid, check=True)
    any_runtime.kill(cid, "KILL", check=True)
    wait_status(any_runtime, cid, "stopped")

    result = any_runtime.start(cid)

    assert result.returncode == 1
    assert "cannot start a container that has stopped" in one_line(result)
    assert any_runtime.output(cid) == ""


def test_kill_all_signals_every_process(any_runtime, make_bundle, tmp_path) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("killall")
    any_runtime.run(bundle, cid, "-d", check=True)
    any_runtime.exec(cid, "sleep", "55", opts=["-d", "--pid-file", str(tmp_path / "exec.pid")], check=True)
    exec_pid = int((tmp_path / "exec.pid").read_text())

    any_runtime.kill(cid, "KILL", "--all", check=True)

    wait_status(any_runtime, cid, "stopped")
    wait_for(lambda: not _alive(exec_pid), what="the exec'd process to go")


def _alive(pid: int) -> bool:
    """True while `pid` runs; a zombie waiting for the host's init to reap it counts as gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2 :].split()[0] not in (b"Z", b"X")
