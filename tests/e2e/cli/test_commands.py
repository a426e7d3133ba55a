"""The estiba CLI against the API served from the fakes: what a user sees, and what the
daemon receives (the same create body as the docker CLI's for the same flags)."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from tests.e2e.cli.conftest import ESTIBA


def test_version_shows_client_and_server(cli):
    out = cli.estiba("version").stdout
    assert out.startswith("Client:\n Version:           0.1.0\n")
    assert "Server: Estiba Engine" in out and "1.41 (minimum version 1.24)" in out


def test_run_detached_then_ps_in_every_format(cli):
    cid = cli.estiba(
        "run", "-d", "--name", "web", "-l", "tier=front", "busybox", "sleep", "100"
    ).stdout.strip()
    assert len(cid) == 64
    table = cli.estiba("ps").stdout.splitlines()
    assert table[0].startswith("CONTAINER ID   IMAGE     COMMAND       CREATED   ")
    assert table[0].endswith("   STATUS        PORTS     NAMES")
    assert table[1].startswith(f'{cid[:12]}   busybox   "sleep 100"   ')
    assert table[1].endswith("web") and "Up " in table[1]
    assert cli.estiba("ps", "-q").stdout == f"{cid[:12]}\n"
    line = cli.estiba("ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}} {{.Command}}").stdout
    assert line.startswith(f"{cid[:12]} web Up ") and line.endswith(' "sleep 100"\n')
    as_json = json.loads(cli.estiba("ps", "--format", "{{json .}}").stdout)
    assert (
        as_json["Names"] == "web"
        and as_json["Labels"] == "tier=front"
        and as_json["State"] == "running"
    )
    tabled = cli.estiba("ps", "--format", "table {{.Names}}\t{{.Image}}").stdout
    assert tabled == "NAMES     IMAGE\nweb       busybox\n"
    cli.estiba("create", "--name", "idle", "busybox")
    assert cli.estiba("ps", "-q").stdout.count("\n") == 1
    assert cli.estiba("ps", "-aq").stdout.count("\n") == 2
    assert (
        cli.estiba("ps", "-a", "--filter", "status=created", "--format", "{{.Names}}").stdout
        == "idle\n"
    )


def test_run_attached_streams_and_exit_code(cli):
    result = cli.estiba(
        "run", "--name", "job", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert cli.engine.last("wait_container")["condition"].value == "next-exit"
    logs = cli.estiba("logs", "job")
    assert (logs.stdout, logs.stderr) == ("out\n", "err\n")
    assert cli.estiba("logs", "--tail", "1", "job").stderr == "err\n"
    assert cli.estiba("ps", "-a", "--format", "{{.Status}}").stdout.startswith("Exited (3)")


def test_run_interactive_pipes_stdin(cli):
    assert (
        cli.estiba("run", "-i", "busybox", "cat", input="hola\nmundo\n").stdout == "hola\nmundo\n"
    )


def test_exec_output_stdin_and_exit_code(cli):
    cli.estiba("run", "-d", "--name", "srv", "busybox", "sleep", "100")
    assert cli.estiba("exec", "srv", "echo", "hi", "there").stdout == "hi there\n"
    assert cli.estiba("exec", "-i", "srv", "cat", input="through exec\n").stdout == "through exec\n"
    assert cli.estiba("exec", "srv", "sh", "-c", "exit 7", check=False).returncode == 7
    cli.estiba("exec", "-e", "A=1", "-u", "nobody", "-w", "/tmp", "srv", "true")
    config = cli.engine.last("create_exec")["config"]
    assert (config.env, config.user, config.working_dir) == (("A=1",), "nobody", "/tmp")


def test_inspect_with_templates_and_missing_objects(cli):
    cid = cli.estiba(
        "run", "-d", "--name", "box", "-l", "a=b", "busybox", "sleep", "9"
    ).stdout.strip()
    assert json.loads(cli.estiba("inspect", "box").stdout)[0]["Id"] == cid
    out = cli.estiba(
        "inspect",
        "-f",
        "{{.Config.Tty}} {{.State.Running}} {{json .Config.Labels}} {{.Name}}",
        "box",
    ).stdout
    assert out == 'false true {"a":"b"} /box\n'
    missing = cli.estiba("inspect", "--type", "container", "nope", check=False)
    assert (
        missing.returncode == 1
        and missing.stderr == "Error response from daemon: No such container: nope\n"
    )


def test_rm_force_and_errors_per_container(cli):
    cli.estiba("run", "-d", "--name", "live", "busybox", "sleep", "100")
    refused = cli.estiba("rm", "live", check=False)
    assert refused.returncode == 1 and refused.stderr.startswith("Error response from daemon: ")
    assert cli.estiba("rm", "-f", "live").stdout == "live\n"
    assert cli.engine.last("remove_container")["force"] is True
    mixed = cli.estiba("rm", "nope1", "nope2", check=False)
    assert mixed.returncode == 1 and mixed.stderr.count("No such container") == 2


def test_daemon_errors_in_run_exit_125(cli):
    missing = cli.estiba("run", "missing-image", check=False)
    assert (missing.returncode, missing.stderr) == (
        125,
        "Error response from daemon: No such image: missing-image\n",
    )
    bad_flag = cli.estiba("run", "--bogus", "busybox", check=False)
    assert bad_flag.returncode == 125


def test_images_table_quiet_and_format(cli):
    table = cli.estiba("images").stdout.splitlines()
    assert table[0] == "REPOSITORY   TAG       IMAGE ID       CREATED             SIZE"
    assert table[1].startswith("busybox      latest    3726e854f7e1   ")
    assert cli.estiba("images", "-q").stdout == "3726e854f7e1\n"
    assert cli.estiba("images", "--format", "{{.Repository}}:{{.Tag}}").stdout == "busybox:latest\n"


def test_lifecycle_verbs_reach_the_daemon(cli):
    cli.estiba("run", "-d", "--name", "life", "busybox", "sleep", "100")
    for args in (
        ["pause", "life"],
        ["unpause", "life"],
        ["restart", "-t", "2", "life"],
        ["kill", "-s", "HUP", "life"],
        ["start", "life"],
        ["stop", "-t", "1", "life"],
    ):
        assert cli.estiba(*args).stdout == "life\n"
    assert cli.engine.last("restart_container")["timeout"] == 2
    assert cli.engine.last("kill_container")["signal"] == "HUP"
    assert cli.estiba("wait", "life").stdout == "143\n"
    cli.estiba("rename", "life", "life2")
    assert cli.engine.last("rename_container")["new_name"] == "life2"


def test_save_load_tag_and_events(cli, tmp_path):
    archive = tmp_path / "busybox.tar"
    cli.estiba("save", "-o", str(archive), "busybox")
    assert archive.stat().st_size > 0
    assert "Loaded image: busybox:latest" in cli.estiba("load", "-i", str(archive)).stdout
    cli.estiba("tag", "busybox", "mine/box:v1")
    assert cli.images.last("tag_image")["tag"] == "v1"
    since = time.time()
    cli.estiba("create", "--name", "evented", "busybox")
    until = f"{time.time() + 0.01:.6f}"
    out = cli.estiba(
        "events",
        "--since",
        f"{since:.6f}",
        "--until",
        until,
        "--filter",
        "container=evented",
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
    ).stdout
    assert out == "container create evented\n"
    plain = cli.estiba("events", "--since", f"{since:.6f}", "--until", until).stdout
    assert plain.endswith(" (image=busybox, name=evented)\n") and " container create " in plain


RUN_FLAGS = [
    ["busybox"],
    ["-i", "--rm", "--entrypoint", "", "busybox", "true"],
    [
        "-it",
        "--name",
        "x1",
        "-e",
        "A=1",
        "-e",
        "HOME",
        "-w",
        "/tmp",
        "-u",
        "1000:1000",
        "--entrypoint",
        "/bin/sh",
        "-h",
        "host1",
        "--restart",
        "on-failure:3",
        "-m",
        "64m",
        "--memory-swap",
        "128m",
        "--cpus",
        "1.5",
        "--cpu-shares",
        "512",
        "--pids-limit",
        "50",
        "--cap-add",
        "NET_ADMIN",
        "--cap-drop",
        "ALL",
        "--privileged",
        "--read-only",
        "--init",
        "--tmpfs",
        "/run:rw,size=64m",
        "--tmpfs",
        "/x",
        "--ulimit",
        "nofile=1024:2048",
        "--ulimit",
        "nproc=100",
        "-l",
        "a=b",
        "--label",
        "c",
        "--security-opt",
        "no-new-privileges",
        "--runtime",
        "runc",
        "--stop-signal",
        "SIGINT",
        "--stop-timeout",
        "5",
        "--log-opt",
        "max-size=1m",
        "busybox",
        "echo",
        "hi",
    ],
    [
        "--network", "n1", "--network-alias", "web", "--ip", "10.1.0.5",
        "-p", "8080:80", "-p", "127.0.0.1::53/udp", "-p", "9000-9001:7000-7001", "-p", "[::1]:8443:443",
        "-P", "--expose", "9999", "--expose", "6000-6001/udp",
        "--add-host", "db:10.0.0.2", "--dns", "10.0.0.53", "--dns-search", "example.org",
        "--dns-option", "ndots:2",
        "busybox",
    ],
    [
        "--health-cmd", "wget -qO- localhost || exit 1", "--health-interval", "1m30s",
        "--health-timeout", "500ms", "--health-retries", "4", "--health-start-period", "2s",
        "busybox",
    ],
    ["--health-interval", "3s", "busybox"],
    ["--no-healthcheck", "busybox"],
]


def _differences(ours: dict, theirs: dict, prefix: str = "") -> list[str]:
    found = []
    for key, value in ours.items():
        if isinstance(value, dict) and isinstance(theirs.get(key), dict):
            found += _differences(value, theirs[key], f"{prefix}{key}.")
        elif theirs.get(key, "<absent>") != value:
            found.append(f"{prefix}{key}: ours {value!r}, docker's {theirs.get(key, '<absent>')!r}")
    return found


@pytest.mark.parametrize("flags", RUN_FLAGS, ids=["bare", "rm-entrypoint", "every-flag", "network", "health", "health-timing", "no-healthcheck"])
def test_create_body_matches_the_docker_clis(cli, flags):
    if not cli.has_docker:
        pytest.skip("the docker CLI is not installed")
    cli.docker("create", *flags)
    theirs = cli.engine.last("create_container")
    if "--name" in flags:
        cli.estiba("rm", "x1")
    cli.estiba("create", *flags)
    ours = cli.engine.last("create_container")
    for body in (ours, theirs):  # docker 28 sends Env in Go's random map order
        body["config"]["Env"] = sorted(body["config"]["Env"] or []) or None
    assert ours["name"] == theirs["name"]
    assert _differences(ours["config"], theirs["config"]) == []


def test_start_attached_prints_the_output_and_exits_with_the_code(cli):
    cli.estiba("create", "--name", "later", "busybox", "sh", "-c", "echo started; exit 4")
    result = cli.estiba("start", "-a", "later", check=False)
    assert (result.returncode, result.stdout) == (4, "started\n")


def test_it_without_a_terminal_is_refused_before_anything_is_created(cli):
    result = cli.estiba("run", "-it", "busybox", "cat", input="", check=False)
    assert (result.returncode, result.stderr) == (125, "the input device is not a TTY\n")
    assert cli.engine.calls_of("create_container") == []


def test_logs_follow_ends_with_the_container(cli):
    cli.estiba("run", "-d", "--name", "talker", "busybox", "sh", "-c", "echo one; echo two")
    assert cli.estiba("logs", "-f", "talker").stdout == "one\ntwo\n"
    assert cli.engine.last("container_logs")["options"].follow is True


def test_ctrl_c_on_an_attached_run_is_passed_to_the_container(cli):
    process = subprocess.Popen(
        [*ESTIBA, "-H", cli.url, "run", "--name", "sleeper", "busybox", "sleep", "100"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while not cli.call(lambda: cli.engine.calls_of("start_container")):  # handlers are up
        assert time.monotonic() < deadline, "never started"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    assert process.wait(10) == 137  # the fake's kill
    assert cli.engine.last("kill_container")["signal"] == "SIGINT"


def test_update_diff_and_export(cli, tmp_path):
    cli.estiba("run", "-d", "--name", "tuned", "busybox", "sleep", "100")
    updated = cli.estiba("update", "-m", "32m", "--restart", "always", "tuned")
    assert (updated.stdout, updated.stderr) == ("tuned\n", "WARNING: fake warning\n")
    assert cli.engine.last("update_container")["update"] == {
        "Memory": 32 << 20,
        "RestartPolicy": {"Name": "always", "MaximumRetryCount": 0},
    }
    assert cli.estiba("diff", "tuned").stdout == "C /tmp\nA /tmp/x\n"
    archive = tmp_path / "rootfs.tar"
    cli.estiba("export", "-o", str(archive), "tuned")
    assert archive.read_bytes() == b"fake-tar-bytes"
    assert not (tmp_path / "rootfs.tar.partial").exists()


def test_stats_without_streaming(cli):
    cli.estiba("run", "-d", "--name", "busy", "busybox", "sleep", "100")
    lines = cli.estiba("stats", "--no-stream").stdout.splitlines()
    assert lines[0].startswith("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %")
    assert lines[1].split()[:3] == [cli.estiba("ps", "-q").stdout.strip(), "busy", "0.00%"]
    assert cli.engine.last("container_stats")["stream"] is False
