"""The registry routes of the API (push, search, /auth) over a fake images backend: what
they parse, what they hand the backend, and how they answer."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

from estiba.api.types import Progress, RegistryAuth
from estiba.errors import Unauthorized, Unsupported
from tests.unit.api.fake_images import FakeImages
from tests.unit.api.harness import ApiHarness


class RegistryImages(FakeImages):
    async def push_image(self, ref: str, *, tag: str, auth: RegistryAuth) -> AsyncIterator[Progress]:
        self.record("push_image", ref=ref, tag=tag, auth=auth)

        async def progress() -> AsyncIterator[Progress]:
            yield Progress(status="Preparing", id="abc", current=None)
            yield Progress(status="Pushing", id="abc", current=5, total=10)
            yield Progress(aux={"Tag": tag, "Digest": "sha256:" + "a" * 64, "Size": 5})
            if tag == "bad":
                raise Unauthorized("127.0.0.1:5000/app:bad: unauthorized: authentication required")

        return progress()

    async def search_images(self, term: str, *, limit: int, auth: RegistryAuth) -> list[dict]:
        self.record("search_images", term=term, limit=limit)
        if term.startswith("nocatalog"):
            raise Unsupported("registry nocatalog:5000 does not offer search")
        return [
            {"name": "a/official", "description": "", "star_count": 10, "is_official": True,
             "is_automated": False},
            {"name": "b/other", "description": "", "star_count": 1, "is_official": False,
             "is_automated": False},
        ]  # fmt: skip

    async def authenticate(self, auth: RegistryAuth) -> dict:
        self.record("authenticate", auth=auth)
        if auth.password != "right":
            raise Unauthorized("login to 127.0.0.1:5000 failed: unauthorized: bad password")
        return {"Status": "Login Succeeded", "IdentityToken": ""}


def harness() -> ApiHarness:
    api = ApiHarness()
    api.images = RegistryImages(in_use=api.engine.images_in_use)
    api.backends = type(api.backends)(api.engine, api.engine, api.engine, api.images)
    return api


def _lines(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.splitlines() if line]


def test_push_streams_progress_with_auth_from_the_header() -> None:
    api = harness()
    header = base64.urlsafe_b64encode(
        json.dumps({"username": "u", "password": "p", "serveraddress": "127.0.0.1:5000"}).encode()
    ).decode()

    async def scenario(client):
        ok = await client.post("/v1.41/images/127.0.0.1:5000/app/push?tag=1",
                               headers={"X-Registry-Auth": header})  # fmt: skip
        bad = await client.post("/images/127.0.0.1:5000/app/push?tag=bad")
        return ok, bad

    ok, bad = api.run(scenario)
    call = api.images.calls_of("push_image")[0]
    assert call["ref"] == "127.0.0.1:5000/app" and call["tag"] == "1"
    assert call["auth"] == RegistryAuth("u", "p", "127.0.0.1:5000")
    messages = _lines(ok.body)
    assert messages[0] == {"status": "Preparing", "id": "abc"}
    assert messages[1]["progressDetail"] == {"current": 5, "total": 10}
    assert messages[2]["aux"]["Tag"] == "1"
    assert bad.status == 200
    assert "authentication required" in _lines(bad.body)[-1]["errorDetail"]["message"]


def test_search_filters_and_errors() -> None:
    api = harness()

    async def scenario(client):
        return (
            await client.get("/images/search", params={"term": "x", "limit": "5"}),
            await client.get("/images/search", params={
                "term": "x", "filters": json.dumps({"is-official": ["true"]})}),
            await client.get("/images/search", params={
                "term": "x", "filters": json.dumps({"stars": ["5"]})}),
            await client.get("/images/search", params={"term": "nocatalog:5000/x"}),
            await client.get("/images/search"),
        )  # fmt: skip

    everything, official, starred, unsupported, missing = api.run(scenario)
    assert [r["name"] for r in everything.json] == ["a/official", "b/other"]
    assert api.images.calls_of("search_images")[0]["limit"] == 5
    assert [r["name"] for r in official.json] == ["a/official"]
    assert [r["name"] for r in starred.json] == ["a/official"]
    assert unsupported.status == 501 and "nocatalog:5000" in unsupported.message
    assert missing.status == 400


def test_auth_route() -> None:
    api = harness()

    async def scenario(client):
        good = await client.post("/auth", json={"username": "u", "password": "right",
                                                "serveraddress": "127.0.0.1:5000"})
        bad = await client.post("/v1.41/auth", json={"username": "u", "password": "wrong",
                                                     "serveraddress": "127.0.0.1:5000"})
        return good, bad  # fmt: skip

    good, bad = api.run(scenario)
    assert good.status == 200 and good.json == {"Status": "Login Succeeded", "IdentityToken": ""}
    assert bad.status == 401 and "bad password" in bad.message
    assert api.images.calls_of("authenticate")[0]["auth"].server_address == "127.0.0.1:5000"
