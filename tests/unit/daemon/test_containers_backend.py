"""The pure parts of the containers backend: Docker's documents, the etc files, the
attach stream decoding, log selection, exec processes and the stored config."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from estiba.api.types import ExecConfig, LogsOptions, StreamKind
from estiba.daemon.container_documents import (
    human_duration,
    inspect_document,
    parse_rfc3339_ns,
    status_text,
    summary_document,
)
from estiba.daemon.container_logs import log_chunks, select_entries
from estiba.daemon.container_setup import log_limits, stored_config
from estiba.daemon.exec_backend import exec_process
from estiba.daemon.rootfs import ContainerPaths, etc_files
from estiba.daemon.sessions import decode_stream
from estiba.errors import InvalidArgument
from estiba.engine.config import ContainerConfig, ImageConfig
from estiba.engine.hostconfig import LogConfig
from estiba.engine.states import State
from estiba.engine.store import ContainerRecord

CID = "ab" * 32


def record(**changes) -> ContainerRecord:
    fields = dict(
        id=CID,
        name="web",
        image_id="sha256:" + "cd" * 32,
        image_ref="busybox",
        created="2026-01-01T00:00:00.000000000Z",
        config={"Image": "busybox", "Cmd": ["sh", "-c", "exit 3"], "Env": ["PATH=/bin"]},
        host_config={"NetworkMode": "none", "AutoRemove": True},
    )
    fields.update(changes)
    return ContainerRecord(**fields)


def test_rfc3339_and_durations() -> None:
    assert parse_rfc3339_ns("1970-01-01T00:00:01.5Z") == 1_500_000_000
    assert parse_rfc3339_ns("0001-01-01T00:00:00Z") == 0
    assert human_duration(0.2) == "Less than a second"
    assert human_duration(5) == "5 seconds"
    assert human_duration(70) == "About a minute"
    assert human_duration(3 * 3600) == "3 hours"


def test_status_text_as_docker_ps_shows_it() -> None:
    now = parse_rfc3339_ns("2026-01-01T00:01:00Z")
    exited = record(state=State.EXITED, exit_code=3, finished_at="2026-01-01T00:00:55Z")
    assert status_text(exited, now) == "Exited (3) 5 seconds ago"
    running = record(state=State.RUNNING, started_at="2026-01-01T00:00:00Z")
    assert status_text(running, now) == "Up About a minute"
    assert status_text(record(state=State.PAUSED, started_at="2026-01-01T00:00:58Z"), now) == "Up 2 seconds (Paused)"
    assert status_text(record(), now) == "Created"


def test_inspect_document_has_dockers_shape() -> None:
    doc = inspect_document(
        record(state=State.EXITED, exit_code=3), log_path="/l", resolv_conf="/r", hostname_path="/h",
        hosts_path="/hs", runtime="estiba",
    )
    assert doc["Name"] == "/web" and doc["Path"] == "sh" and doc["Args"] == ["-c", "exit 3"]
    assert doc["State"]["Status"] == "exited" and doc["State"]["ExitCode"] == 3
    assert doc["State"]["Running"] is False and doc["State"]["Pid"] == 0
    assert doc["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {}}
    assert doc["HostConfig"]["AutoRemove"] is True
    assert doc["Config"]["Hostname"] == CID[:12]
    assert doc["Mounts"] == [] and doc["RestartCount"] == 0
    json.dumps(doc)


def test_summary_document() -> None:
    doc = summary_document(record(state=State.EXITED, exit_code=3))
    assert doc["Names"] == ["/web"] and doc["State"] == "exited"
    assert doc["Command"] == "sh -c 'exit 3'"
    assert doc["Created"] == parse_rfc3339_ns("2026-01-01T00:00:00Z") // 1_000_000_000


def test_etc_files_private_network_drops_loopback_nameservers() -> None:
    files = etc_files("abc", "none", host_resolv="nameserver 127.0.0.53\nsearch lan\n")
    assert files["hostname"] == "abc\n"
    assert "127.0.1.1\tabc" in files["hosts"] and files["hosts"].startswith("127.0.0.1\tlocalhost")
    assert "127.0.0.53" not in files["resolv.conf"] and "search lan" in files["resolv.conf"]
    assert "nameserver 8.8.8.8" in files["resolv.conf"]
    host = etc_files("abc", "host", host_hosts="1.2.3.4 x\n", host_resolv="nameserver 127.0.0.53\n")
    assert host["hosts"] == "1.2.3.4 x\n" and host["resolv.conf"] == "nameserver 127.0.0.53\n"


def test_etc_files_add_hosts_in_every_network_mode() -> None:
    host = etc_files("abc", "host", host_hosts="1.2.3.4 x", extra_hosts=["db:10.0.0.2"])
    assert host["hosts"] == "1.2.3.4 x\n10.0.0.2\tdb\n"
    none = etc_files("abc", "none", extra_hosts=["db:10.0.0.2", "cache:10.0.0.3"])
    assert none["hosts"].endswith("10.0.0.2\tdb\n10.0.0.3\tcache\n127.0.1.1\tabc\n")
    with pytest.raises(InvalidArgument, match="use name:ip"):
        etc_files("abc", "host", extra_hosts=["nocolon"])


def test_container_paths() -> None:
    paths = ContainerPaths(Path("/run/e"), Path("/var/lib/e"), CID)
    assert paths.rootfs == Path(f"/run/e/containers/{CID}/rootfs")
    assert paths.log_path == Path(f"/var/lib/e/containers/{CID}/{CID}-json.log")


def test_decode_stream_handles_split_frames() -> None:
    buffer = bytearray()
    frame = b"\x01\x00\x00\x00\x00\x00\x00\x03abc" + b"\x02\x00\x00\x00\x00\x00\x00\x02de"
    assert decode_stream(buffer, frame[:5], tty=False) == []
    chunks = decode_stream(buffer, frame[5:], tty=False)
    assert [(c.stream, c.data) for c in chunks] == [(StreamKind.STDOUT, b"abc"), (StreamKind.STDERR, b"de")]
    assert [c.data for c in decode_stream(bytearray(), b"raw", tty=True)] == [b"raw"]


LINES = [
    b'{"log":"one\\n","stream":"stdout","time":"2026-01-01T00:00:01Z"}',
    b'{"log":"two\\n","stream":"stderr","time":"2026-01-01T00:00:02Z"}',
    b'{"log":"three\\n","stream":"stdout","time":"2026-01-01T00:00:03Z"}',
]


def test_select_entries_streams_tail_since() -> None:
    both = LogsOptions(stdout=True, stderr=True)
    assert [c.data for c in select_entries(LINES, both)] == [b"one\n", b"two\n", b"three\n"]
    assert [c.data for c in select_entries(LINES, LogsOptions(stdout=True))] == [b"one\n", b"three\n"]
    tail = LogsOptions(stdout=True, stderr=True, tail=1)
    assert [c.data for c in select_entries(LINES, tail)] == [b"three\n"]
    since = LogsOptions(stdout=True, stderr=True, since_ns=parse_rfc3339_ns("2026-01-01T00:00:02Z"))
    assert [c.data for c in select_entries(LINES, since)] == [b"two\n", b"three\n"]


def test_log_chunks_follow_ends_when_the_container_stops(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    log.write_bytes(LINES[0] + b"\n")
    states = iter([True, False])

    async def collect() -> list[bytes]:
        chunks = log_chunks(str(log), LogsOptions(stdout=True, stderr=True, follow=True), lambda: next(states))
        got = []
        async for chunk in chunks:
            got.append(chunk.data)
            if len(got) == 1:
                log.write_bytes(LINES[0] + b"\n" + LINES[2] + b"\n")
        return got

    assert asyncio.run(collect()) == [b"one\n", b"three\n"]


def test_exec_process_keeps_the_containers_security() -> None:
    base = {"args": ["sh"], "env": ["PATH=/bin", "A=1"], "cwd": "/", "user": {"uid": 0, "gid": 0},
            "capabilities": {"bounding": ["CAP_CHOWN"]}, "terminal": True}
    config = ExecConfig(cmd=("echo", "hi"), env=("A=2", "B=3"), working_dir="/tmp")
    process = exec_process(base, config, user=None)
    assert process["args"] == ["echo", "hi"]
    assert process["env"] == ["PATH=/bin", "A=2", "B=3"]
    assert process["cwd"] == "/tmp" and "terminal" not in process
    assert process["capabilities"] == {"bounding": ["CAP_CHOWN"]}
    tty = exec_process(base, ExecConfig(cmd=("sh",), tty=True, console_size=(24, 80)), user={"uid": 1})
    assert tty["terminal"] is True and tty["consoleSize"] == {"height": 24, "width": 80}
    assert tty["user"] == {"uid": 1}


def test_exec_with_a_tty_gets_term_like_dockerd() -> None:
    base = {"args": ["tail"], "env": ["PATH=/bin", "HOSTNAME=abc", "A=1"]}
    tty = exec_process(base, ExecConfig(cmd=("bash",), tty=True), user=None)
    assert tty["env"] == ["PATH=/bin", "HOSTNAME=abc", "TERM=xterm", "A=1"]
    mine = exec_process(base, ExecConfig(cmd=("bash",), tty=True, env=("TERM=vt100",)), user=None)
    assert mine["env"] == ["PATH=/bin", "HOSTNAME=abc", "TERM=vt100", "A=1"]
    assert "TERM=xterm" not in exec_process(base, ExecConfig(cmd=("env",)), user=None)["env"]


def test_stored_config_is_the_merge_and_reads_back() -> None:
    body = {"Image": "busybox", "Cmd": None, "HostConfig": {"NetworkMode": "none"}}
    merged = ContainerConfig.from_api(body).merged_with(ImageConfig.from_oci({"Cmd": ["sh"], "Env": ["PATH=/bin"]}))
    stored = stored_config(body, merged)
    assert stored["Cmd"] == ["sh"] and stored["Env"] == ["PATH=/bin"] and "HostConfig" not in stored
    again = ContainerConfig.from_api({**stored, "HostConfig": body["HostConfig"]})
    assert again.process_args() == ["sh"]


def test_log_limits_from_log_opts() -> None:
    assert log_limits(LogConfig("json-file", {"max-size": "1m", "max-file": "2"})) == {
        "log_max_size": 1 << 20, "log_max_files": 2,
    }
    assert log_limits(LogConfig()) == {}
