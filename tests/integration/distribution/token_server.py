"""A token server for docker-registry's `auth: token` (the Docker token spec): checks
Basic credentials and issues RS256 JWTs whose x5c certificate the registry trusts.
Signed with the openssl CLI, so the tests need no crypto package."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
import uuid
from pathlib import Path

from aiohttp import web

from tests.integration.distribution.registry import free_port
from tests.integration.distribution.serve import ServedApp

SERVICE = "estiba-test-registry"
ISSUER = "estiba-test-issuer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    def __init__(self, directory: Path, user: str, password: str) -> None:
        self.directory = directory
        self.user, self.password = user, password
        self.port = free_port()
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self.key = directory / "token.key"
        self.cert = directory / "token.crt"
        self.requests: list[dict[str, str]] = []
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=estiba-test-token", "-keyout", str(self.key), "-out", str(self.cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        der = subprocess.run(
            ["openssl", "x509", "-in", str(self.cert), "-outform", "DER"],
            check=True, capture_output=True,
        ).stdout  # fmt: skip
        self.x5c = base64.b64encode(der).decode()

    def registry_auth(self) -> dict:
        return {"token": {"realm": self.realm, "service": SERVICE, "issuer": ISSUER,
                          "rootcertbundle": str(self.cert)}}  # fmt: skip

    def sign(self, claims: dict) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.key)],
            input=signing_input.encode(), check=True, capture_output=True,
        ).stdout  # fmt: skip
        return f"{signing_input}.{_b64(signature)}"

    async def token(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.query))
        header = request.headers.get("Authorization", "")
        user = ""
        if header.startswith("Basic "):
            given = base64.b64decode(header[6:]).decode()
            if given != f"{self.user}:{self.password}":
                return web.json_response({"details": "wrong user name or password"}, status=401)
            user = self.user
        access = []
        for scope in request.query.getall("scope", ()):
            kind, name, actions = scope.split(":")
            # anonymous clients may pull; the user may pull and push
            granted = [a for a in actions.split(",") if user or a == "pull"]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": user, "aud": SERVICE, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        token = await asyncio.to_thread(self.sign, claims)
        return web.json_response({"token": token, "access_token": token, "expires_in": 300})

    def start(self) -> TokenServer:
        app = web.Application()
        app.router.add_get("/token", self.token)
        self._served = ServedApp(app, self.port)
        self._served.start()
        return self

    def stop(self) -> None:
        self._served.stop()
