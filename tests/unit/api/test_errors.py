"""Error kinds to HTTP statuses, in one table, and how they reach clients."""

from __future__ import annotations

import json
import logging

import pytest

from estiba.api.errors import error_response, status_for
from estiba.errors import (
    Conflict,
    Forbidden,
    InvalidArgument,
    NotFound,
    NotModified,
    SystemFault,
    Unauthorized,
    Unavailable,
    Unsupported,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("x"), 404),
        (InvalidArgument("x"), 400),
        (Conflict("x"), 409),
        (NotModified("x"), 304),
        (Unauthorized("x"), 401),
        (Forbidden("x"), 403),
        (Unavailable("x"), 503),
        (Unsupported("x"), 501),
        (SystemFault("x"), 500),
        (RuntimeError("x"), 500),
    ],
)
def test_each_kind_has_its_status(error, status):
    assert status_for(error) == status
    assert error_response(error).status == status


def test_a_subclass_gets_its_kinds_status():
    class NoSuchImage(NotFound):
        pass

    assert status_for(NoSuchImage("busybox")) == 404


def test_the_body_is_the_message_with_its_hint():
    response = error_response(Conflict("name taken", hint="pick another"))
    assert json.loads(response.body) == {"message": "name taken: pick another"}
    assert response.content_type == "application/json"


def test_not_modified_has_no_body():
    response = error_response(NotModified("already started"))
    assert response.status == 304
    assert not response.body


def test_unexpected_errors_are_500_and_logged(caplog):
    with caplog.at_level(logging.ERROR, logger="estiba.api"):
        response = error_response(KeyError("boom"))
    assert response.status == 500
    assert "boom" in json.loads(response.body)["message"]
    assert "boom" in caplog.text


def test_backend_errors_reach_the_client_with_their_status(api):
    async def scenario(client):
        missing = await client.get("/containers/nope/json")
        await client.post(
            "/containers/create?name=web", json={"Image": "busybox", "Cmd": ["sleep"]}
        )
        taken = await client.post("/containers/create?name=web", json={"Image": "busybox"})
        started = await client.post("/containers/web/start")
        again = await client.post("/containers/web/start")
        running = await client.delete("/containers/web")
        return missing, taken, started, again, running

    missing, taken, started, again, running = api.run(scenario)
    assert (missing.status, missing.message) == (404, "No such container: nope")
    assert taken.status == 409 and "already in use" in taken.message
    assert started.status == 204
    assert again.status == 304 and again.body == b""
    assert running.status == 409 and "cannot remove a running container" in running.message


def test_a_handler_crash_is_500_with_the_message(api, caplog):
    async def boom(*_args, **_kwargs):
        raise ZeroDivisionError("division by zero in the engine")

    api.engine.inspect_container = boom
    with caplog.at_level(logging.ERROR, logger="estiba.api"):
        reply = api.run(lambda client: client.get("/containers/x/json"))
    assert reply.status == 500
    assert "division by zero in the engine" in reply.message
    assert "division by zero" in caplog.text
