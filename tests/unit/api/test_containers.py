"""The container state routes: parameters parsed, backend called, Docker's answers."""

from __future__ import annotations

import asyncio
import json

from estiba.api.types import ContainerListOptions, WaitCondition


async def _create(client, name="web", **config):
    body = {"Image": "busybox", "Cmd": ["sleep", "9"], **config}
    return await client.post(f"/containers/create?name={name}", json=body)


def test_create_passes_the_raw_body_name_and_platform(api):
    body = {"Image": "busybox", "Cmd": ["echo", "hi"], "HostConfig": {"Memory": 1 << 20}}

    async def scenario(client):
        return await client.post("/containers/create?name=/web&platform=linux/amd64", json=body)

    reply = api.run(scenario)
    assert reply.status == 201
    assert reply.json["Warnings"] == []
    assert list(api.engine.containers) == [reply.json["Id"]]
    assert api.engine.last("create_container") == {
        "config": body,
        "name": "web",
        "platform": "linux/amd64",
    }


def test_create_refuses_bad_names_and_bodies(api):
    async def scenario(client):
        bad_name = await client.post("/containers/create?name=a%20b", json={"Image": "x"})
        not_object = await client.post("/containers/create", json=["busybox"])
        empty = await client.post("/containers/create")
        return bad_name, not_object, empty

    bad_name, not_object, empty = api.run(scenario)
    assert bad_name.status == 400 and "Invalid container name (a b)" in bad_name.message
    assert not_object.status == 400 and not_object.message.startswith("invalid JSON")
    assert empty.status == 400 and empty.message.startswith("invalid JSON")
    assert api.engine.calls == []


def test_list_parses_all_limit_size_and_filters(api):
    async def scenario(client):
        await _create(client, "one")
        await _create(client, "two")
        await client.post("/containers/two/start")
        running = await client.get("/containers/json")
        everything = await client.get("/containers/json?all=1&size=1&limit=1")
        filters = json.dumps({"status": ["created"]})
        created = await client.get("/containers/json", params={"all": "1", "filters": filters})
        bad = await client.get("/containers/json", params={"filters": json.dumps({"bogus": ["x"]})})
        return running, everything, created, bad

    running, everything, created, bad = api.run(scenario)
    assert [c["Names"] for c in running.json] == [["/two"]]
    assert len(everything.json) == 1
    options = [args["options"] for name, args in api.engine.calls if name == "list_containers"]
    assert options[0] == ContainerListOptions()
    assert options[1] == ContainerListOptions(all=True, limit=1, size=True)
    assert options[2].filters == {"status": ("created",)}
    assert [c["Names"] for c in created.json] == [["/one"]]
    assert bad.status == 400 and bad.message == "invalid filter 'bogus'"


def test_inspect(api):
    async def scenario(client):
        await _create(client, "web", Tty=True)
        return await client.get("/containers/web/json?size=1")

    reply = api.run(scenario)
    assert reply.json["Name"] == "/web" and reply.json["Config"]["Tty"] is True
    assert api.engine.last("inspect_container") == {"ref": "web", "size": True}


def test_lifecycle_routes_answer_204_and_pass_their_parameters(api):
    async def scenario(client):
        await _create(client)
        replies = [
            await client.post("/containers/web/start"),
            await client.post("/containers/web/pause"),
            await client.post("/containers/web/unpause"),
            await client.post("/containers/web/restart?t=3"),
            await client.post("/containers/web/kill?signal=SIGHUP"),
            await client.post("/containers/web/start"),
            await client.post("/containers/web/stop?t=5&signal=SIGINT"),
            await client.post("/containers/web/stop"),
            await client.delete("/containers/web?v=1&force=true&link=0"),
        ]
        return replies

    replies = api.run(scenario)
    assert [r.status for r in replies] == [204, 204, 204, 204, 204, 204, 204, 304, 204]
    engine = api.engine
    assert engine.last("restart_container") == {"ref": "web", "timeout": 3, "signal": None}
    assert engine.last("kill_container") == {"ref": "web", "signal": "SIGHUP"}
    assert engine.last("stop_container") == {"ref": "web", "timeout": None, "signal": None}
    stops = [args for name, args in engine.calls if name == "stop_container"]
    assert stops[0] == {"ref": "web", "timeout": 5, "signal": "SIGINT"}
    assert engine.last("remove_container") == {
        "ref": "web",
        "force": True,
        "v": True,
        "link": False,
    }


def test_bad_lifecycle_parameters(api):
    async def scenario(client):
        await _create(client)
        return (
            await client.post("/containers/web/stop?t=soon"),
            await client.post("/containers/web/stop?t=-2"),
            await client.post("/containers/web/start", json={"Binds": ["/:/host"]}),
            await client.post("/containers/web/kill"),
        )

    soon, negative, with_body, not_running = api.run(scenario)
    assert soon.status == 400 and "invalid value for t" in soon.message
    assert negative.status == 400
    assert with_body.status == 400 and "removed in v1.24" in with_body.message
    assert not_running.status == 409


def test_wait_sends_headers_first_then_the_exit_status(api):
    async def scenario(client):
        await _create(client, "job", Cmd=["cat"])
        async with client.session.post(
            "http://docker/containers/job/wait?condition=next-exit"
        ) as response:
            # The headers arrived although the container has not even started.
            assert response.status == 200
            assert api.engine.last("wait_container")["condition"] is WaitCondition.NEXT_EXIT
            await client.post("/containers/job/start")
            await client.post("/containers/job/kill")
            body = await asyncio.wait_for(response.read(), 5)
        return json.loads(body)

    assert api.run(scenario) == {"StatusCode": 137, "Error": None}


def test_wait_defaults_to_not_running_and_checks_the_condition(api):
    async def scenario(client):
        await _create(client, "job", Cmd=["false"])
        await client.post("/containers/job/start")
        done = await client.post("/containers/job/wait")
        bad = await client.post("/containers/job/wait?condition=whenever")
        missing = await client.post("/containers/nope/wait")
        return done, bad, missing

    done, bad, missing = api.run(scenario)
    assert done.json == {"StatusCode": 1, "Error": None}
    assert api.engine.last("wait_container")["condition"] is WaitCondition.NOT_RUNNING
    assert bad.status == 400 and "invalid condition" in bad.message
    assert missing.status == 404


def test_resize_top_rename_update_changes(api):
    async def scenario(client):
        await _create(client)
        await client.post("/containers/web/start")
        return (
            await client.post("/containers/web/resize?h=40&w=120"),
            await client.post("/containers/web/resize?h=40"),
            await client.get("/containers/web/top?ps_args=aux"),
            await client.post("/containers/web/rename?name=site"),
            await client.post("/containers/site/rename"),
            await client.post("/containers/site/update", json={"Memory": 1 << 24}),
            await client.get("/containers/site/changes"),
        )

    resize, half, top, rename, unnamed, update, changes = api.run(scenario)
    engine = api.engine
    assert resize.status == 200
    assert engine.last("resize_container") == {"ref": "web", "height": 40, "width": 120}
    assert half.status == 400
    assert top.json == {"Titles": ["UID", "PID", "CMD"], "Processes": [["root", "4242", "sleep 9"]]}
    assert engine.last("top_container") == {"ref": "web", "ps_args": "aux"}
    assert rename.status == 204 and engine.last("rename_container")["new_name"] == "site"
    assert unnamed.status == 400
    assert update.json == {"Warnings": ["fake warning"]}
    assert engine.last("update_container") == {"ref": "site", "update": {"Memory": 1 << 24}}
    assert changes.json == [{"Path": "/tmp", "Kind": 0}, {"Path": "/tmp/x", "Kind": 1}]


def test_top_defaults_to_ps_ef(api):
    async def scenario(client):
        await _create(client)
        await client.post("/containers/web/start")
        return await client.get("/containers/web/top")

    api.run(scenario)
    assert api.engine.last("top_container")["ps_args"] == "-ef"
