"""Authenticated requests to one registry: ping, the 401 challenge, Basic or bearer tokens.

The first request of a session pings `/v2/` (falling back from HTTPS to HTTP for an
insecure registry) and keeps the challenge the registry answers with. Each request then
carries what that challenge asks for: nothing, Basic credentials, or a bearer token for
the request's scope (cached per registry, scope and user, renewed before it expires). A
401 drops the cached token and retries once with a fresh one; a second 401 is an
Unauthorized error naming the registry.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Mapping, Sequence

from estiba.distribution.challenge import Challenge, parse_challenges
from estiba.distribution.credentials import AuthConfig
from estiba.distribution.registries import Endpoint
from estiba.distribution.tokens import TokenCache
from estiba.distribution.transport import Body, Reply, Transport, registry_error
from estiba.errors import EstibaError, Unauthorized, Unavailable

API_VERSION_HEADER = "Docker-Distribution-Api-Version"


class RegistrySession:
    """Requests to one registry (the first of `candidates` that answers a ping)."""

    def __init__(
        self,
        candidates: Sequence[Endpoint],
        transport: Transport,
        tokens: TokenCache,
        credentials: AuthConfig | None = None,
    ) -> None:
        if not candidates:
            raise ValueError("a session needs at least one endpoint")
        self.candidates = list(candidates)
        self.endpoint = self.candidates[0]
        self.transport = transport
        self.tokens = tokens
        self.credentials = credentials if credentials and not credentials.empty else None
        self.challenge: Challenge | None = None
        self._pinged = False

    @property
    def registry(self) -> str:
        return self.endpoint.domain

    async def ping(self) -> None:
        """Find an endpoint that speaks the v2 API and learn how it wants us to log in."""
        if self._pinged:
            return
        failure: EstibaError | None = None
        for endpoint in self.candidates:
            try:
                reply = await self.transport.send(
                    "GET", endpoint.url + "/v2/", verify_tls=not endpoint.insecure
                )
            except Unavailable as exc:
                failure = exc
                continue
            status, headers = reply.status, reply.headers
            body = await reply.read()
            if status == 401:
                self.challenge = _preferred(parse_challenges(headers.get("WWW-Authenticate", "")))
            elif status >= 300 and API_VERSION_HEADER not in headers:
                failure = registry_error(status, body, f"registry {endpoint.host}")
                continue
            self.endpoint = endpoint
            self._pinged = True
            return
        assert failure is not None
        raise failure

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        scopes: Sequence[str],
        headers: Mapping[str, str] | None = None,
        body: Body = None,
    ) -> Reply:
        """Send with authorization; retry once after a 401 with what its challenge asks."""
        await self.ping()
        url = path_or_url if "://" in path_or_url else self.endpoint.url + path_or_url
        for attempt in (1, 2):
            all_headers = dict(headers or {})
            all_headers.update(await self._authorization(scopes))
            reply = await self.transport.send(
                method, url, headers=all_headers, body=body, verify_tls=not self.endpoint.insecure
            )
            if reply.status != 401 or attempt == 2:
                return reply
            challenges = parse_challenges(reply.headers.get("WWW-Authenticate", ""))
            data = await reply.read()
            self.tokens.invalidate(self._token_key(scopes))
            self.challenge = _preferred(challenges) or self.challenge
            if self.challenge is None or (
                self.challenge.scheme == "basic" and self.credentials is None
            ):
                raise registry_error(401, data, f"registry {self.registry}")
        raise AssertionError("unreachable")

    async def login(self) -> None:
        """Check the credentials: the registry accepts them, or Unauthorized with its word."""
        await self.ping()
        if self.challenge is None:
            return
        if self.credentials is None:
            raise Unauthorized(f"registry {self.registry} needs a user name and password")
        reply = await self.request("GET", "/v2/", scopes=())
        body = await reply.read()
        if reply.status >= 300:
            raise registry_error(reply.status, body, f"login to {self.registry} failed")

    # --- authorization -------------------------------------------------------------

    async def _authorization(self, scopes: Sequence[str]) -> dict[str, str]:
        challenge = self.challenge
        creds = self.credentials
        if creds is not None and creds.registry_token:
            return {"Authorization": f"Bearer {creds.registry_token}"}
        if challenge is None:
            return {}
        if challenge.scheme == "basic":
            if creds is None:
                return {}
            pair = f"{creds.username}:{creds.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        if challenge.scheme == "bearer":
            key = self._token_key(scopes)
            token = self.tokens.get(key)
            if token is None:
                token, lifetime = await self._fetch_token(challenge, scopes)
                self.tokens.put(key, token, lifetime)
            return {"Authorization": f"Bearer {token}"}
        return {}

    def _token_key(self, scopes: Sequence[str]) -> tuple[str, ...]:
        user = self.credentials.username if self.credentials else ""
        return (self.endpoint.url, user, *sorted(scopes))

    async def _fetch_token(
        self, challenge: Challenge, scopes: Sequence[str]
    ) -> tuple[str, float | None]:
        if not challenge.realm.startswith(("http://", "https://")):
            raise Unavailable(f"registry {self.registry} sent a bearer challenge without realm")
        creds = self.credentials
        query: list[tuple[str, str]] = []
        if challenge.service:
            query.append(("service", challenge.service))
        query += [("scope", scope) for scope in scopes]
        headers: dict[str, str] = {}
        if creds is not None and creds.identity_token:
            form = [("grant_type", "refresh_token"), ("refresh_token", creds.identity_token)]
            form += [("client_id", "estiba"), *query]
            method, url = "POST", challenge.realm
            body: bytes | None = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            separator = "&" if "?" in challenge.realm else "?"
            url = challenge.realm + (separator + urllib.parse.urlencode(query) if query else "")
            method, body = "GET", None
            if creds is not None and creds.username:
                pair = f"{creds.username}:{creds.password}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        try:
            reply = await self.transport.send(
                method, url, headers=headers, body=body, verify_tls=not self.endpoint.insecure
            )
        except Unavailable as exc:
            raise Unavailable(
                f"token server of registry {self.registry} unreachable: {exc.message}"
            ) from exc
        data = await reply.read()
        if reply.status >= 300:
            raise registry_error(
                reply.status, data, f"registry {self.registry} refused a token"
            )
        try:
            document = json.loads(data)
        except ValueError as exc:
            raise Unavailable(f"token server of {self.registry} answered no JSON") from exc
        token = document.get("token") or document.get("access_token")
        if not isinstance(token, str) or not token:
            raise Unavailable(f"token server of {self.registry} answered no token")
        lifetime = document.get("expires_in")
        return token, float(lifetime) if isinstance(lifetime, (int, float)) else None


def _preferred(challenges: Sequence[Challenge]) -> Challenge | None:
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return None


def repository_scope(path: str, actions: str = "pull") -> str:
    return f"repository:{path}:{actions}"


__all__ = ["RegistrySession", "repository_scope"]
