"""A tiny registry in the test process (aiohttp): serves one image from memory and can
misbehave on purpose: a corrupt or cut-short blob, a blob that never comes, slow blobs
(to count concurrent downloads), an unknown manifest type, Basic auth or bearer tokens."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field

from aiohttp import web

from tests.integration.distribution.registry import free_port
from tests.integration.distribution.serve import ServedApp

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(name: str, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


@dataclass
class FakeImage:
    manifest: bytes
    blobs: dict[str, bytes]
    layers: list[str]
    config: str
    digest: str


def make_image(layer_count: int = 2, layer_size: int = 64 << 10, arch: str = "amd64") -> FakeImage:
    """An image of `layer_count` gzip layers of random bytes (incompressible)."""
    blobs: dict[str, bytes] = {}
    layers, diff_ids = [], []
    for number in range(layer_count):
        tar = layer_tar(f"file{number}", os.urandom(layer_size))
        compressed = gzip.compress(tar, mtime=0)
        diff_ids.append(sha256(tar))
        layers.append({"mediaType": OCI_LAYER_GZIP, "digest": sha256(compressed),
                       "size": len(compressed)})  # fmt: skip
        blobs[sha256(compressed)] = compressed
    config = json.dumps({
        "architecture": arch, "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"layer {n}"} for n in range(layer_count)],
    }).encode()  # fmt: skip
    blobs[sha256(config)] = config
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": layers,
    }).encode()  # fmt: skip
    return FakeImage(manifest, blobs, [x["digest"] for x in layers], sha256(config),
                     sha256(manifest))  # fmt: skip


@dataclass
class Behaviour:
    corrupt: set[str] = field(default_factory=set)  # blobs served with one byte changed
    truncate_once: set[str] = field(default_factory=set)  # cut in half, first time only
    hang: set[str] = field(default_factory=set)  # headers, then silence
    short: set[str] = field(default_factory=set)  # served whole but 10 bytes too short
    delay: float = 0.0  # seconds each blob takes
    manifest_media_type: str | None = None  # serve the manifest with another type
    basic: tuple[str, str] | None = None  # require these credentials
    token: str | None = None  # require `Bearer <token>`, issued by /token


class FakeRegistry:
    """Serves `repo` with tag `tag`; records requests, Range headers and concurrency."""

    def __init__(self, image: FakeImage, repo: str = "test/image", tag: str = "1") -> None:
        self.image = image
        self.repo = repo
        self.tag = tag
        self.behaviour = Behaviour()
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.requests: list[tuple[str, str]] = []
        self.ranges: list[str] = []
        self.token_requests: list[dict[str, str]] = []
        self.active = 0
        self.max_active = 0
        self.manifests: dict[str, tuple[bytes, str]] = {
            tag: (image.manifest, OCI_MANIFEST),
            image.digest: (image.manifest, OCI_MANIFEST),
        }

    def add_manifest(self, reference: str, data: bytes, media_type: str) -> str:
        digest = sha256(data)
        self.manifests[reference] = (data, media_type)
        self.manifests[digest] = (data, media_type)
        return digest

    # --- handlers --------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> web.Response | None:
        b = self.behaviour
        header = request.headers.get("Authorization", "")
        if b.basic is not None:
            import base64

            want = "Basic " + base64.b64encode(":".join(b.basic).encode()).decode()
            if header != want:
                return web.json_response(
                    {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                    status=401, headers={"WWW-Authenticate": 'Basic realm="fake"'},
                )  # fmt: skip
        if b.token is not None and header != f"Bearer {b.token}":
            realm = f"http://{self.host}/token"
            scope = f"repository:{self.repo}:pull"
            return web.json_response(
                {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                status=401,
                headers={"WWW-Authenticate":
                         f'Bearer realm="{realm}",service="fake",scope="{scope}"'},
            )  # fmt: skip
        return None

    async def token(self, request: web.Request) -> web.Response:
        self.token_requests.append(dict(request.query))
        return web.json_response({"token": self.behaviour.token, "expires_in": 300})

    async def ping(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(("GET", "/v2/"))
        return self._authorized(request) or web.json_response({})

    async def manifest(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        denied = self._authorized(request)
        if denied:
            return denied
        found = self.manifests.get(request.match_info["reference"])
        if found is None:
            return web.json_response(
                {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]},
                status=404,
            )
        data, media_type = found
        media_type = self.behaviour.manifest_media_type or media_type
        return web.Response(body=data, headers={"Content-Type": media_type,
                                                "Docker-Content-Digest": sha256(data)})

    async def blob(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        denied = self._authorized(request)
        if denied:
            return denied
        digest = request.match_info["digest"]
        data = self.image.blobs.get(digest)
        if data is None:
            return web.json_response({"errors": [{"code": "BLOB_UNKNOWN"}]}, status=404)
        b = self.behaviour
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if b.delay:
                await asyncio.sleep(b.delay)
            if digest in b.corrupt:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            if digest in b.short:
                data = data[:-10]
            start = 0
            header = request.headers.get("Range", "")
            if header:
                self.ranges.append(header)
                start = int(header.split("=", 1)[1].split("-", 1)[0])
            response = web.StreamResponse(status=206 if start else 200)
            response.content_length = len(data) - start
            response.content_type = "application/octet-stream"
            if start:
                response.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            await response.prepare(request)
            if digest in b.hang:
                await asyncio.sleep(3600)
            if digest in b.truncate_once:
                b.truncate_once.discard(digest)
                await response.write(data[start : start + (len(data) - start) // 2])
                request.transport.close()  # the connection drops mid-blob
                return response
            await response.write(data[start:])
            await response.write_eof()
            return response
        finally:
            self.active -= 1

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeRegistry:
        app = web.Application()
        app.router.add_get("/v2/", self.ping)
        app.router.add_get("/token", self.token)
        app.router.add_route("*", "/v2/{repo:.+}/manifests/{reference}", self.manifest)
        app.router.add_route("*", "/v2/{repo:.+}/blobs/{digest}", self.blob)
        self._served = ServedApp(app, self.port)
        self._served.start()
        return self

    def stop(self) -> None:
        self._served.stop()
