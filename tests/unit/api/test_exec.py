"""The exec routes: create's checks, start detached or hijacked, inspect, resize."""

from __future__ import annotations

import asyncio

import pytest

from estiba.api.exec import exec_config
from estiba.api.streams import read_frames
from estiba.api.types import ExecConfig, ExecStartOptions, StreamKind
from estiba.errors import InvalidArgument
from tests.unit.api.harness import raw_request, read_head


async def _running(client, name="srv"):
    await client.post(
        f"/containers/create?name={name}", json={"Image": "busybox", "Cmd": ["sleep"]}
    )
    await client.post(f"/containers/{name}/start")


def test_exec_config_reads_the_body():
    config = exec_config(
        {
            "Cmd": ["sh", "-c", "id"],
            "AttachStdin": True,
            "AttachStdout": True,
            "Tty": True,
            "Env": ["A=b"],
            "User": "1000",
            "WorkingDir": "/tmp",
            "DetachKeys": "ctrl-a",
            "ConsoleSize": [24, 80],
        }
    )
    assert config == ExecConfig(
        cmd=("sh", "-c", "id"),
        attach_stdin=True,
        attach_stdout=True,
        tty=True,
        env=("A=b",),
        user="1000",
        working_dir="/tmp",
        detach_keys="ctrl-a",
        console_size=(24, 80),
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "No exec command specified"),
        ({"Cmd": []}, "No exec command specified"),
        ({"Cmd": ""}, "No exec command specified"),
        ({"Cmd": [1]}, "Cmd must be a list of strings"),
        ({"Cmd": ["id"], "Tty": "yes"}, "Tty must be true or false"),
        ({"Cmd": ["id"], "DetachKeys": "ctrl-"}, "Invalid escape keys"),
        ({"Cmd": ["id"], "ConsoleSize": [24]}, "ConsoleSize"),
    ],
)
def test_exec_config_refuses(body, message):
    with pytest.raises(InvalidArgument, match=message):
        exec_config(body)


def test_create_answers_201_with_the_id(api):
    async def scenario(client):
        await _running(client)
        created = await client.post(
            "/containers/srv/exec", json={"Cmd": ["id"], "AttachStdout": True}
        )
        await client.post("/containers/create?name=idle", json={"Image": "busybox"})
        refused = await client.post("/containers/idle/exec", json={"Cmd": ["id"]})
        bad = await client.post("/containers/srv/exec", json={"Cmd": ""})
        return created, refused, bad

    created, refused, bad = api.run(scenario)
    assert created.status == 201 and created.json["Id"] in api.engine.execs
    assert api.engine.execs[created.json["Id"]]["config"].cmd == ("id",)
    assert refused.status == 409
    assert bad.status == 400 and bad.message == "No exec command specified"


def test_detached_start_answers_at_once(api):
    async def scenario(client):
        await _running(client)
        exec_id = (await client.post("/containers/srv/exec", json={"Cmd": ["true"]})).json["Id"]
        started = await client.post(f"/exec/{exec_id}/start", json={"Detach": True, "Tty": False})
        await asyncio.sleep(0.1)
        inspected = await client.get(f"/exec/{exec_id}/json")
        again = await client.post(f"/exec/{exec_id}/start", json={"Detach": True})
        missing = await client.post("/exec/nope/start", json={})
        return started, inspected, again, missing

    started, inspected, again, missing = api.run(scenario)
    assert started.status == 200 and started.body == b""
    assert api.engine.calls_of("start_exec")[0]["options"] == ExecStartOptions(detach=True)
    assert inspected.json["ExitCode"] == 0 and inspected.json["Running"] is False
    assert again.status == 409
    assert missing.status == 404


def test_attached_start_hijacks_and_streams_until_exit(api):
    async def scenario(client):
        await _running(client)
        body = {
            "Cmd": ["sh", "-c", "echo hi; echo oops >&2; exit 3"],
            "AttachStdout": True,
            "AttachStderr": True,
        }
        exec_id = (await client.post("/containers/srv/exec", json=body)).json["Id"]
        reader, writer = await client.open_raw()
        writer.write(
            raw_request("POST", f"/v1.41/exec/{exec_id}/start", b'{"Detach":false,"Tty":false}')
        )
        status, headers = await read_head(reader)
        output = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        inspected = await client.get(f"/exec/{exec_id}/json")
        return status, headers, output, inspected

    status, headers, output, inspected = api.run(scenario)
    assert status == "HTTP/1.1 101 UPGRADED"
    assert headers["content-type"] == "application/vnd.docker.raw-stream"
    assert list(read_frames(output)) == [
        (StreamKind.STDOUT, b"hi\n"),
        (StreamKind.STDERR, b"oops\n"),
    ]
    assert inspected.json["ExitCode"] == 3


def test_attached_start_with_stdin(api):
    async def scenario(client):
        await _running(client)
        body = {"Cmd": ["cat"], "AttachStdin": True, "AttachStdout": True, "Tty": True}
        exec_id = (await client.post("/containers/srv/exec", json=body)).json["Id"]
        reader, writer = await client.open_raw()
        writer.write(raw_request("POST", f"/exec/{exec_id}/start", b'{"Tty":true}'))
        await read_head(reader)
        await asyncio.sleep(0.1)  # the fake process starts a moment later
        writer.write(b"typed\n")
        echoed = await asyncio.wait_for(reader.readexactly(6), 5)
        writer.write_eof()
        rest = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return echoed, rest

    echoed, rest = api.run(scenario)
    assert (echoed, rest) == (b"typed\n", b"")
    assert api.engine.last("start_exec")["options"] == ExecStartOptions(tty=True)


def test_resize_and_inspect_of_missing_execs(api):
    async def scenario(client):
        await _running(client)
        exec_id = (await client.post("/containers/srv/exec", json={"Cmd": ["id"]})).json["Id"]
        return (
            await client.post(f"/exec/{exec_id}/resize?h=10&w=20"),
            await client.post(f"/exec/{exec_id}/resize?w=20"),
            await client.post("/exec/nope/resize?h=1&w=1"),
            await client.get("/exec/nope/json"),
        )

    resized, half, missing_resize, missing_inspect = api.run(scenario)
    assert resized.status == 200
    assert api.engine.calls_of("resize_exec")[0]["height"] == 10
    assert half.status == 400
    assert missing_resize.status == missing_inspect.status == 404
