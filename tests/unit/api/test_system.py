"""The system routes: _ping's negotiation headers, /version, /info and /events."""

from __future__ import annotations

import asyncio
import json
import time

from estiba.api.routes import API_VERSION, MIN_API_VERSION


def test_ping_get_and_head_carry_the_negotiation_headers(api):
    async def scenario(client):
        return await client.get("/_ping"), await client.request("HEAD", "/v1.41/_ping")

    get, head = api.run(scenario)
    for reply in (get, head):
        assert reply.status == 200
        assert reply.headers["API-Version"] == API_VERSION
        assert reply.headers["OSType"] == "linux"
        assert reply.headers["Docker-Experimental"] == "false"
        assert reply.headers["Builder-Version"] == "1"
        assert "no-cache" in reply.headers["Cache-Control"]
    assert get.body == b"OK"
    assert head.body == b""
    assert api.engine.calls == []  # pinging never bothers the engine


def test_version_adds_the_api_versions_to_the_engines_answer(api):
    reply = api.run(lambda client: client.get("/version"))
    document = reply.json
    assert document["Version"] == "0.1.0-fake"
    assert document["ApiVersion"] == API_VERSION
    assert document["MinAPIVersion"] == MIN_API_VERSION
    assert document["Os"] == "linux" and document["KernelVersion"] == "6.1.0"
    assert document["Experimental"] is False
    engine = document["Components"][0]
    assert engine["Name"] == "Engine" and engine["Details"]["ApiVersion"] == API_VERSION


def test_info_is_the_engines_document(api):
    reply = api.run(lambda client: client.get("/info"))
    assert reply.json["ServerVersion"] == "0.1.0-fake"
    assert reply.json["Swarm"]["LocalNodeState"] == "inactive"


def _lines(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.splitlines() if line]


def test_past_events_between_since_and_until(api):
    async def scenario(client):
        before = time.time_ns()
        await client.post("/containers/create?name=one", json={"Image": "busybox"})
        await client.post("/containers/one/start")
        until = time.time_ns()
        reply = await client.get(f"/events?since={before / 1e9:.9f}&until={until / 1e9:.9f}")
        return reply, before

    reply, before = api.run(scenario)
    assert reply.headers["Content-Type"] == "application/json"
    events = _lines(reply.body)
    assert [(e["Type"], e["Action"]) for e in events] == [
        ("container", "create"),
        ("container", "start"),
    ]
    first = events[0]
    assert first["Actor"]["Attributes"]["name"] == "one"
    assert first["status"] == "create" and first["id"] == first["Actor"]["ID"]
    assert first["from"] == "busybox"
    assert first["timeNano"] >= before and first["time"] == first["timeNano"] // 10**9
    assert api.engine.last("events")["since_ns"] is not None


def test_event_filters_are_applied(api):
    async def scenario(client):
        await client.post("/containers/create?name=one", json={"Image": "busybox"})
        await client.post("/containers/create?name=two", json={"Image": "busybox"})
        await client.post("/containers/two/start")
        until = f"{time.time():.9f}"
        by_name = await client.get(
            "/events", params={"until": until, "filters": json.dumps({"container": ["two"]})}
        )
        by_action = await client.get(
            "/events", params={"until": until, "filters": json.dumps({"event": {"create": True}})}
        )
        by_type = await client.get(
            "/events", params={"until": until, "filters": json.dumps({"type": ["image"]})}
        )
        bad = await client.get("/events", params={"filters": json.dumps({"colour": ["red"]})})
        backwards = await client.get("/events?since=20&until=10")
        return by_name, by_action, by_type, bad, backwards

    by_name, by_action, by_type, bad, backwards = api.run(scenario)
    assert [(e["Actor"]["Attributes"]["name"], e["Action"]) for e in _lines(by_name.body)] == [
        ("two", "create"),
        ("two", "start"),
    ]
    assert [e["Actor"]["Attributes"]["name"] for e in _lines(by_action.body)] == ["one", "two"]
    assert _lines(by_type.body) == []
    assert bad.status == 400 and bad.message == "invalid filter 'colour'"
    assert backwards.status == 400 and "cannot be after" in backwards.message


def test_live_events_stream_as_they_happen(api):
    async def scenario(client):
        async with client.session.get("http://docker/events") as response:
            assert response.status == 200  # the headers come before any event
            await client.post("/containers/create?name=live", json={"Image": "busybox"})
            line = await asyncio.wait_for(response.content.readline(), 5)
        # The client left: the engine's subscription must be closed soon after.
        for _ in range(50):
            if not api.engine._event_queues:
                break
            await asyncio.sleep(0.02)
        return json.loads(line), list(api.engine._event_queues)

    event, subscribers = api.run(scenario)
    assert event["Action"] == "create" and event["Actor"]["Attributes"]["name"] == "live"
    assert subscribers == []
