"""The real docker CLI (28.x) against the API served from the fakes.

The CLI negotiates the API version with _ping, then drives create, start, attach
(hijacked, with stdin), wait, logs, exec, cp, images, save and load as it does with
dockerd; these tests check what a user sees.
"""

from __future__ import annotations

import io
import json
import tarfile
import time


def test_version_reports_our_engine_and_api(served):
    out = served.docker("version").stdout
    assert "Server: Estiba Engine" in out
    assert "1.41 (minimum version 1.24)" in out
    assert "0.1.0-fake" in out


def test_run_detached_then_ps_inspect_logs_and_rm(served):
    cid = served.docker(
        "run", "-d", "--name", "web", "-l", "tier=front", "busybox", "sleep", "100"
    ).stdout.strip()
    assert len(cid) == 64
    create = served.engine.last("create_container")
    assert create["name"] == "web"
    assert create["config"]["Cmd"] == ["sleep", "100"] and create["config"]["Labels"] == {
        "tier": "front"
    }

    ps = served.docker("ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}} {{.Command}}").stdout
    assert ps.split("\n")[0] == f'{cid[:12]} web Up 1 second "sleep 100"'

    inspected = json.loads(served.docker("inspect", "web").stdout)
    assert inspected[0]["Id"] == cid and inspected[0]["State"]["Running"] is True
    assert served.docker("inspect", "-f", "{{.Config.Tty}}", cid[:12]).stdout.strip() == "false"

    assert served.docker("logs", "web").stdout == ""
    assert served.docker("rm", "-f", "web").stdout.strip() == "web"
    assert served.engine.last("remove_container")["force"] is True
    assert served.docker("ps", "-aq").stdout == ""


def test_run_attached_gives_output_streams_and_exit_code(served):
    result = served.docker(
        "run", "--name", "job", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    logs = served.docker("logs", "job")
    assert (logs.stdout, logs.stderr) == ("out\n", "err\n")
    ps = served.docker("ps", "-a", "--format", "{{.Status}}").stdout.strip()
    assert ps == "Exited (3) 1 second ago"


def test_run_interactive_sends_stdin_through_the_hijacked_connection(served):
    result = served.docker("run", "-i", "--name", "catty", "busybox", "cat", input="hola\nmundo\n")
    assert result.stdout == "hola\nmundo\n"
    attach = served.engine.last("attach_container")["options"]
    assert attach.stdin and attach.stdout and attach.stderr and attach.stream
    assert served.engine.last("wait_container")["condition"].value == "next-exit"


def test_exec_in_a_running_container(served):
    served.docker("run", "-d", "--name", "srv", "busybox", "sleep", "100")
    assert served.docker("exec", "srv", "echo", "hi", "there").stdout == "hi there\n"
    echoed = served.docker("exec", "-i", "srv", "cat", input="through exec\n")
    assert echoed.stdout == "through exec\n"
    failed = served.docker("exec", "srv", "sh", "-c", "exit 7", check=False)
    assert failed.returncode == 7


def test_errors_read_as_dockers(served):
    missing = served.docker("inspect", "--type", "container", "nope", check=False)
    assert missing.returncode == 1 and "No such container: nope" in missing.stderr
    served.docker("create", "--name", "dup", "busybox")
    taken = served.docker("create", "--name", "dup", "busybox", check=False)
    assert taken.returncode != 0 and 'The container name "/dup" is already in use' in taken.stderr
    served.docker("start", "dup")
    running = served.docker("rm", "dup", check=False)
    assert running.returncode == 1 and "cannot remove a running container" in running.stderr
    started = served.docker("start", "dup")  # 304: already started is no error
    assert started.stdout.strip() == "dup"


def test_stop_kill_restart_pause(served):
    served.docker("run", "-d", "--name", "life", "busybox", "sleep", "100")
    served.docker("pause", "life")
    served.docker("unpause", "life")
    served.docker("restart", "-t", "2", "life")
    assert served.engine.last("restart_container")["timeout"] == 2
    served.docker("kill", "-s", "HUP", "life")
    assert served.engine.last("kill_container")["signal"] == "HUP"
    served.docker("start", "life")
    served.docker("stop", "-t", "1", "life")
    assert served.engine.last("stop_container")["timeout"] == 1
    wait = served.docker("wait", "life")
    assert wait.stdout.strip() == "143"


def test_cp_both_ways_uses_the_archive_routes(served, tmp_path):
    served.docker("run", "-d", "--name", "files", "busybox", "sleep", "100")
    out = served.docker("cp", "files:/etc/hostname", "-").stdout
    assert out == "fake\n"  # the fake's archive is the file's bytes
    local = tmp_path / "note.txt"
    local.write_text("hello\n")
    served.docker("cp", str(local), "files:/tmp")
    path, data = served.engine.archives_put[-1]
    assert path == "/tmp"
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile("note.txt")
        assert member is not None and member.read() == b"hello\n"


def test_images_pull_save_load_rmi(served, tmp_path):
    table = served.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert table == ["busybox:latest"]
    pulled = served.docker("pull", "alpine:3.19")
    assert "Downloaded newer image for alpine:3.19" in pulled.stdout
    pull = served.images.last("pull_image")["options"]
    assert (pull.image, pull.tag) == ("docker.io/library/alpine", "3.19")  # what the CLI sends
    archive = tmp_path / "busybox.tar"
    served.docker("save", "-o", str(archive), "busybox")
    assert tarfile.is_tarfile(archive)
    loaded = served.docker("load", "-i", str(archive))
    assert "Loaded image: busybox:latest" in loaded.stdout
    served.docker("tag", "busybox", "mine/box:v1")
    assert served.images.last("tag_image")["repo"] == "docker.io/mine/box"  # normalised
    removed = served.docker("rmi", "mine/box:v1").stdout
    assert "Untagged: mine/box:v1" in removed


def test_events_between_two_times(served):
    since = time.time()
    served.docker("create", "--name", "evented", "busybox")
    until = time.time() + 0.01
    out = served.docker(
        "events",
        "--since",
        f"{since:.6f}",
        "--until",
        f"{until:.6f}",
        "--filter",
        "container=evented",
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
    ).stdout
    assert out == "container create evented\n"
