"""Logs, attach (hijacked), stats, export and archive, with the bytes on the wire."""

from __future__ import annotations

import asyncio
import base64
import json

from estiba.api.streams import frame, read_frames
from estiba.api.types import AttachOptions, LogsOptions, StreamKind
from tests.unit.api.harness import raw_request, read_head


async def _run_to_exit(client, name, cmd, **config):
    await client.post(
        f"/containers/create?name={name}", json={"Image": "busybox", "Cmd": cmd, **config}
    )
    await client.post(f"/containers/{name}/start")


def test_logs_are_framed_without_a_tty(api):
    async def scenario(client):
        await _run_to_exit(client, "job", ["sh", "-c", "echo out; echo err >&2"])
        both = await client.get("/containers/job/logs?stdout=1&stderr=1")
        only_err = await client.get("/containers/job/logs?stderr=1")
        return both, only_err

    both, only_err = api.run(scenario)
    assert both.headers["Content-Type"] == "application/vnd.docker.raw-stream"
    assert list(read_frames(both.body)) == [
        (StreamKind.STDOUT, b"out\n"),
        (StreamKind.STDERR, b"err\n"),
    ]
    assert only_err.body == frame(StreamKind.STDERR, b"err\n")


def test_logs_of_a_tty_are_raw(api):
    async def scenario(client):
        await _run_to_exit(client, "tty", ["sh", "-c", "echo one; echo two"], Tty=True)
        return await client.get("/containers/tty/logs?stdout=1&stderr=1")

    assert api.run(scenario).body == b"one\ntwo\n"


def test_log_parameters(api):
    async def scenario(client):
        await _run_to_exit(client, "job", ["sh", "-c", "echo a; echo b; echo c"])
        tail = await client.get(
            "/containers/job/logs?stdout=1&tail=2&timestamps=1&since=10&until=2000000000.5"
        )
        everything = await client.get("/containers/job/logs?stdout=1&tail=all&follow=1")
        neither = await client.get("/containers/job/logs")
        return tail, everything, neither

    tail, everything, neither = api.run(scenario)
    payloads = [data for _, data in read_frames(tail.body)]
    assert [p.split(b" ", 1)[1] for p in payloads] == [b"b\n", b"c\n"]
    assert all(p[4:5] == b"-" and p.split(b" ", 1)[0].endswith(b"Z") for p in payloads)
    calls = [args["options"] for name, args in api.engine.calls if name == "container_logs"]
    assert calls[0] == LogsOptions(
        stdout=True, tail=2, since_ns=10 * 10**9, until_ns=2_000_000_000_500_000_000
    )
    assert calls[1] == LogsOptions(stdout=True, follow=True)
    assert len(list(read_frames(everything.body))) == 3
    assert neither.status == 400 and "choose at least one stream" in neither.message


def test_logs_follow_streams_until_the_container_exits(api):
    async def scenario(client):
        await _run_to_exit(client, "cat", ["cat"], OpenStdin=True)
        engine = api.engine
        async with client.session.get(
            "http://docker/containers/cat/logs?stdout=1&follow=1"
        ) as response:
            process = engine.find("cat").process
            process.feed_stdin(b"first\n")
            first = await asyncio.wait_for(response.content.readexactly(8 + 6), 5)
            process.close_stdin()
            rest = await asyncio.wait_for(response.content.read(), 5)
        return first, rest

    first, rest = api.run(scenario)
    assert first == frame(StreamKind.STDOUT, b"first\n")
    assert rest == b""


async def _attach(client, name, query="stream=1&stdin=1&stdout=1&stderr=1", *, upgrade=True):
    reader, writer = await client.open_raw()
    writer.write(raw_request("POST", f"/v1.41/containers/{name}/attach?{query}", upgrade=upgrade))
    status, headers = await read_head(reader)
    return reader, writer, status, headers


def test_attach_upgrades_and_carries_stdin_and_output_until_exit(api):
    async def scenario(client):
        await client.post(
            "/containers/create?name=cat",
            json={"Image": "busybox", "Cmd": ["cat"], "OpenStdin": True},
        )
        reader, writer, status, headers = await _attach(client, "cat")
        await client.post("/containers/cat/start")
        writer.write(b"hello\n")
        echoed = await asyncio.wait_for(reader.readexactly(8 + 6), 5)
        writer.write_eof()  # like `docker run -i` at the end of its stdin: half-close
        rest = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return status, headers, echoed, rest

    status, headers, echoed, rest = api.run(scenario)
    assert status == "HTTP/1.1 101 UPGRADED"
    assert headers["content-type"] == "application/vnd.docker.raw-stream"
    assert headers["upgrade"] == "tcp" and headers["connection"] == "Upgrade"
    assert headers["api-version"] == "1.41"
    assert echoed == frame(StreamKind.STDOUT, b"hello\n")
    assert rest == b""  # the output ended with the process, and the connection closed
    session = api.engine.sessions[-1]
    assert session.stdin_closed and session.closed
    assert api.engine.last("attach_container")["options"] == AttachOptions(
        stream=True, stdin=True, stdout=True, stderr=True
    )


def test_attach_without_upgrade_answers_200_and_replays_logs(api):
    async def scenario(client):
        await _run_to_exit(client, "job", ["echo", "done"])
        reader, writer, status, headers = await _attach(
            client, "job", "logs=1&stdout=1", upgrade=False
        )
        body = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return status, body

    status, body = api.run(scenario)
    assert status == "HTTP/1.1 200 OK"
    assert body == frame(StreamKind.STDOUT, b"done\n")


def test_attach_detach_keys_end_the_session_but_not_the_container(api):
    async def scenario(client):
        await _run_to_exit(client, "cat", ["cat"], OpenStdin=True, Tty=True)
        reader, writer, status, _ = await _attach(
            client, "cat", "stream=1&stdin=1&stdout=1&detachKeys=ctrl-x,x"
        )
        writer.write(b"ab\x18")  # the first detach key alone: held back
        writer.write(b"cd\x18")
        await asyncio.sleep(0.05)
        writer.write(b"xzz")  # the sequence completes: detach, "zz" is never sent
        rest = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return rest

    rest = api.run(scenario)
    container = api.engine.find("cat")
    assert container.process.stdin_received == b"ab\x18cd"
    assert rest == b"ab\x18cd"  # the TTY output is raw, and stops at the detach
    assert container.status == "running"
    assert api.engine.sessions[-1].closed


def test_attach_refuses_bad_detach_keys_and_missing_containers(api):
    async def scenario(client):
        await _run_to_exit(client, "cat", ["cat"])
        bad = await client.post("/containers/cat/attach?stream=1&detachKeys=ctrl-%25%25")
        missing = await client.post("/containers/nope/attach?stream=1")
        return bad, missing

    bad, missing = api.run(scenario)
    assert bad.status == 400 and "Invalid escape keys" in bad.message
    assert missing.status == 404


def test_a_client_leaving_mid_attach_leaves_the_container_running(api):
    async def scenario(client):
        await _run_to_exit(client, "srv", ["sleep"])
        reader, writer, status, _ = await _attach(client, "srv")
        writer.transport.abort()
        for _ in range(100):
            if api.engine.sessions and api.engine.sessions[-1].closed:
                break
            await asyncio.sleep(0.02)
        return status

    assert api.run(scenario) == "HTTP/1.1 101 UPGRADED"
    assert api.engine.sessions[-1].closed
    assert api.engine.find("srv").status == "running"


def test_stats_one_sample_or_a_stream(api):
    async def scenario(client):
        await _run_to_exit(client, "srv", ["sleep"])
        single = await client.get("/containers/srv/stats?stream=0")
        one_shot = await client.get("/containers/srv/stats?stream=false&one-shot=1")
        conflicting = await client.get("/containers/srv/stats?one-shot=1")
        async with client.session.get("http://docker/containers/srv/stats") as response:
            lines = [json.loads(await response.content.readline()) for _ in range(3)]
        return single, one_shot, conflicting, lines

    single, one_shot, conflicting, lines = api.run(scenario)
    assert single.json["memory_stats"] == {"usage": 1000}
    assert api.engine.calls[-1][0] == "container_stats"
    calls = [args for name, args in api.engine.calls if name == "container_stats"]
    assert calls[0] == {"ref": "srv", "stream": False, "one_shot": False}
    assert calls[1] == {"ref": "srv", "stream": False, "one_shot": True}
    assert conflicting.status == 400
    assert [line["memory_stats"]["usage"] for line in lines] == [1000, 1001, 1002]


def test_export_streams_a_tar(api):
    async def scenario(client):
        await _run_to_exit(client, "srv", ["sleep"])
        return await client.get("/containers/srv/export"), await client.get("/containers/no/export")

    export, missing = api.run(scenario)
    assert export.headers["Content-Type"] == "application/x-tar"
    assert export.body == b"fake-tar-bytes"
    assert missing.status == 404


def test_archive_head_get_put(api):
    async def scenario(client):
        await _run_to_exit(client, "srv", ["sleep"])
        head = await client.request("HEAD", "/containers/srv/archive?path=/etc/hostname")
        get = await client.get("/containers/srv/archive?path=/etc/hostname")
        put = await client.request(
            "PUT",
            "/containers/srv/archive?path=/tmp&noOverwriteDirNonDir=1&copyUIDGID=1",
            data=b"tar-data",
        )
        missing = await client.get("/containers/srv/archive?path=/nope")
        no_path = await client.request("HEAD", "/containers/srv/archive")
        return head, get, put, missing, no_path

    head, get, put, missing, no_path = api.run(scenario)
    stat = json.loads(base64.b64decode(head.headers["X-Docker-Container-Path-Stat"]))
    assert stat == {
        "name": "hostname",
        "size": 5,
        "mode": 0o644,
        "mtime": "2023-11-14T22:13:20.5Z",
        "linkTarget": "",
    }
    assert get.body == b"fake\n" and get.headers["Content-Type"] == "application/x-tar"
    assert "X-Docker-Container-Path-Stat" in get.headers
    assert put.status == 200
    assert api.engine.archives_put == [("/tmp", b"tar-data")]
    assert api.engine.last("put_container_archive") == {
        "ref": "srv",
        "path": "/tmp",
        "no_overwrite_dir_non_dir": True,
        "copy_uid_gid": True,
    }
    assert missing.status == 404 and "Could not find the file /nope" in missing.message
    assert no_path.status == 400
