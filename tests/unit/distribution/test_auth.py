"""WWW-Authenticate parsing, the token cache, and the session's auth flow over a
recording transport (no network): ping, challenge, token per scope, retry on 401."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping

import pytest

from estiba.distribution.challenge import parse_challenges
from estiba.distribution.credentials import AuthConfig
from estiba.distribution.registries import Endpoint
from estiba.distribution.session import RegistrySession
from estiba.distribution.tokens import TokenCache
from estiba.errors import Unauthorized


def test_bearer_challenge() -> None:
    [challenge] = parse_challenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull,push"'
    )
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.docker.io/token"
    assert challenge.service == "registry.docker.io"
    assert challenge.scope == "repository:library/busybox:pull,push"


def test_several_challenges_quotes_and_escapes() -> None:
    found = parse_challenges('Basic realm="a \\"quoted\\" realm", Bearer realm=x,error=invalid')
    assert [c.scheme for c in found] == ["basic", "bearer"]
    assert found[0].realm == 'a "quoted" realm'
    assert dict(found[1].params) == {"realm": "x", "error": "invalid"}
    assert parse_challenges("") == []
    assert parse_challenges("Bearer")[0].params == {}


def test_token_cache_expires_with_margin() -> None:
    now = [1000.0]
    cache = TokenCache(clock=lambda: now[0], margin=10)
    cache.put(("r", "scope"), "tok", 300)
    assert cache.get(("r", "scope")) == "tok"
    assert cache.get(("r", "other")) is None
    now[0] += 289
    assert cache.get(("r", "scope")) == "tok"
    now[0] += 2  # within the margin of expiry: renewed rather than used
    assert cache.get(("r", "scope")) is None
    cache.put(("r", "scope"), "tok2", None)  # no expires_in: the spec's 60 s
    now[0] += 49
    assert cache.get(("r", "scope")) == "tok2"
    cache.invalidate(("r", "scope"))
    assert len(cache) == 0


class FakeReply:
    def __init__(self, status: int, headers: Mapping[str, str] | None = None, body: bytes = b""):
        self.status = status
        self.headers = dict(headers or {})
        self.body = body
        self.url = ""

    async def read(self, limit: int = 0) -> bytes:
        return self.body

    async def chunks(self, size: int):
        yield self.body

    def release(self) -> None:
        pass


class RecordingTransport:
    """Answers like a bearer-token registry; records every request."""

    def __init__(self, tokens_valid: int = 99) -> None:
        self.sent: list[tuple[str, str, dict]] = []
        self.issued = 0
        self.tokens_valid = tokens_valid  # requests each token is good for
        self.revoked: set[str] = set()

    async def send(self, method, url, *, headers=None, body=None, verify_tls=True):
        headers = dict(headers or {})
        self.sent.append((method, url, headers))
        challenge = {"WWW-Authenticate": 'Bearer realm="https://auth.test/token",service="reg"'}
        if url.startswith("https://auth.test/token"):
            if headers.get("Authorization") != "Basic " + base64.b64encode(b"u:p").decode():
                return FakeReply(401, body=b'{"details": "bad credentials"}')
            self.issued += 1
            return FakeReply(200, body=json.dumps({"token": f"t{self.issued}",
                                                   "expires_in": 300}).encode())  # fmt: skip
        if url.endswith("/v2/") and "Authorization" not in headers:
            return FakeReply(401, challenge)
        given = headers.get("Authorization", "")
        if given == f"Bearer t{self.issued}" and given not in self.revoked and self.tokens_valid:
            self.tokens_valid -= 1
            return FakeReply(200, body=b"{}")
        return FakeReply(401, challenge, b'{"errors": [{"code": "UNAUTHORIZED", "message": "no"}]}')

    async def close(self) -> None:
        pass


def session(transport, auth=AuthConfig("u", "p")) -> RegistrySession:
    endpoint = Endpoint("reg.test", "https://reg.test")
    return RegistrySession([endpoint], transport, TokenCache(), auth)


def test_token_fetched_once_per_scope_and_reused() -> None:
    transport = RecordingTransport()
    s = session(transport)

    async def run() -> None:
        for _ in range(3):
            reply = await s.request("GET", "/v2/a/manifests/1", scopes=["repository:a:pull"])
            assert reply.status == 200
        await s.request("GET", "/v2/b/manifests/1", scopes=["repository:b:pull"])

    asyncio.run(run())
    token_urls = [url for _, url, _ in transport.sent if "auth.test" in url]
    assert len(token_urls) == 2
    assert "scope=repository%3Aa%3Apull" in token_urls[0] and "service=reg" in token_urls[0]


def test_a_401_renews_the_token_once() -> None:
    transport = RecordingTransport()
    s = session(transport)

    async def run() -> int:
        await s.request("GET", "/v2/a/manifests/1", scopes=["repository:a:pull"])
        transport.revoked.add("Bearer t1")  # the registry stops taking the cached token
        reply = await s.request("GET", "/v2/a/manifests/1", scopes=["repository:a:pull"])
        return reply.status

    assert asyncio.run(run()) == 200
    assert transport.issued == 2
    auths = [h.get("Authorization") for _, url, h in transport.sent if "/manifests/" in url]
    assert auths == ["Bearer t1", "Bearer t1", "Bearer t2"]


def test_wrong_credentials_are_unauthorized_naming_the_registry() -> None:
    s = session(RecordingTransport(), AuthConfig("u", "wrong"))

    async def run() -> None:
        await s.request("GET", "/v2/a/manifests/1", scopes=["repository:a:pull"])

    with pytest.raises(Unauthorized) as failure:
        asyncio.run(run())
    assert "reg.test" in str(failure.value) and "bad credentials" in str(failure.value)


def test_login_checks_credentials() -> None:
    asyncio.run(session(RecordingTransport()).login())
    with pytest.raises(Unauthorized):
        asyncio.run(session(RecordingTransport(), AuthConfig("u", "nope")).login())
    with pytest.raises(Unauthorized):
        asyncio.run(session(RecordingTransport(), None).login())
