"""Routing: versioned and unversioned paths, version bounds, unknown routes, bad bodies."""

from __future__ import annotations

import pytest

from estiba.api.app import ROUTES
from estiba.api.routes import API_VERSION, MIN_API_VERSION


def test_versioned_and_unversioned_paths_reach_the_same_handler(api):
    async def scenario(client):
        versioned = await client.get("/v1.41/containers/json?all=1")
        plain = await client.get("/containers/json?all=1")
        oldest = await client.get("/v1.24/containers/json?all=1")
        return versioned, plain, oldest

    versioned, plain, oldest = api.run(scenario)
    assert versioned.status == plain.status == oldest.status == 200
    assert versioned.json == plain.json == oldest.json == []
    assert [name for name, _ in api.engine.calls] == ["list_containers"] * 3


def test_too_old_a_version_is_refused_with_dockers_words(api):
    reply = api.run(lambda client: client.get("/v1.23/containers/json"))
    assert reply.status == 400
    assert reply.message.startswith(
        "client version 1.23 is too old. Minimum supported API version is 1.24"
    )
    assert api.engine.calls == []


def test_too_new_a_version_is_refused(api):
    reply = api.run(lambda client: client.get("/v1.99/version"))
    assert reply.status == 400
    assert "client version 1.99 is too new" in reply.message
    assert f"Maximum supported API version is {API_VERSION}" in reply.message


def test_a_route_newer_than_the_request_is_refused(api):
    reply = api.run(lambda client: client.post("/v1.24/images/prune"))
    assert reply.status == 400
    assert "requires API version 1.25" in reply.message


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nothing/here"),
        ("GET", "/v1.41/nothing"),
        ("PUT", "/containers/json"),
        ("GET", "/v1/_ping"),
    ],
)
def test_unknown_routes_are_404_page_not_found(api, method, path):
    reply = api.run(lambda client: client.request(method, path))
    assert reply.status == 404
    assert reply.json == {"message": "page not found"}


def test_every_response_names_the_api_version(api):
    reply = api.run(lambda client: client.get("/v1.30/info"))
    assert reply.headers["API-Version"] == API_VERSION
    assert reply.headers["OSType"] == "linux"
    assert reply.headers["Server"].startswith("Estiba/")


def test_malformed_json_body_is_400_invalid_json(api):
    reply = api.run(
        lambda client: client.post(
            "/containers/create", data=b"{not json", headers={"Content-Type": "application/json"}
        )
    )
    assert reply.status == 400
    assert reply.message.startswith("invalid JSON: ")
    assert api.engine.calls == []


def test_a_body_that_is_not_json_is_refused(api):
    reply = api.run(
        lambda client: client.post(
            "/containers/create", data=b"Image=busybox", headers={"Content-Type": "text/plain"}
        )
    )
    assert reply.status == 400
    assert "unsupported Content-Type header (text/plain)" in reply.message


def test_route_table_versions_are_in_range():
    for route in ROUTES:
        assert tuple(map(int, route.min_version.split("."))) >= tuple(
            map(int, MIN_API_VERSION.split("."))
        ), route


def test_a_body_too_large_is_refused_in_json(api):
    body = b'{"Image": "' + b"x" * (33 << 20) + b'"}'
    reply = api.run(
        lambda client: client.post(
            "/containers/create", data=body, headers={"Content-Type": "application/json"}
        )
    )
    assert reply.status == 413
    assert reply.json == {"message": "Request Entity Too Large"}
