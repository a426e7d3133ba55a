"""The registry HTTP API v2 for one repository: manifests, blobs, uploads, tags.

Every method names the registry and the repository in its errors. Manifests are checked
against their digest here, as soon as they arrive; blobs are checked by the content
store's writer when they are committed (see `pull.py`).
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass

from estiba.distribution.session import RegistrySession, repository_scope
from estiba.distribution.transport import MAX_DOCUMENT, Reply, registry_error, registry_message
from estiba.errors import InvalidArgument, NotFound, Unavailable, Unsupported
from estiba.images import mediatypes as mt

MANIFEST_ACCEPT = ", ".join(
    (mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST, mt.OCI_MANIFEST, mt.DOCKER_MANIFEST)
)


@dataclass(frozen=True)
class FetchedManifest:
    data: bytes
    media_type: str
    digest: str


class Repository:
    """One repository (`library/busybox`) of the registry a session talks to."""

    def __init__(self, session: RegistrySession, path: str, *, push: bool = False) -> None:
        self.session = session
        self.path = path
        self.scopes = (repository_scope(path, "pull,push" if push else "pull"),)

    @property
    def name(self) -> str:
        return f"{self.session.registry}/{self.path}"

    # --- manifests -----------------------------------------------------------------

    async def get_manifest(self, reference: str) -> FetchedManifest:
        """The manifest by tag or digest; its bytes hash to the digest asked for (or the
        one the registry names), else InvalidArgument."""
        shown = f"{self.name}@{reference}" if ":" in reference else f"{self.name}:{reference}"
        what = f"manifest for {shown}"
        reply = await self.session.request(
            "GET", self._url("manifests", reference), scopes=self.scopes,
            headers={"Accept": MANIFEST_ACCEPT},
        )  # fmt: skip
        data = await self._body(reply, what)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        named = reply.headers.get("Docker-Content-Digest", "")
        if reference.startswith("sha256:") and digest != reference:
            raise InvalidArgument(f"{what}: digest mismatch, the registry sent {digest}")
        if named.startswith("sha256:") and named != digest:
            raise InvalidArgument(f"{what}: digest mismatch, registry says {named}, got {digest}")
        media_type = _media_type(data, reply.headers.get("Content-Type", ""))
        if media_type not in mt.MANIFESTS and media_type not in mt.INDEXES:
            raise Unsupported(
                f"{what}: unsupported manifest media type {media_type!r}",
                hint="estiba pulls OCI and Docker schema 2 images",
            )
        return FetchedManifest(data, media_type, digest)

    async def put_manifest(self, reference: str, data: bytes, media_type: str) -> str:
        reply = await self.session.request(
            "PUT", self._url("manifests", reference), scopes=self.scopes,
            headers={"Content-Type": media_type}, body=data,
        )  # fmt: skip
        await self._body(reply, f"push of manifest {self.name}:{reference}", ok=(200, 201))
        return reply.headers.get("Docker-Content-Digest", "")

    async def tags(self) -> list[str]:
        reply = await self.session.request("GET", self._url("tags", "list"), scopes=self.scopes)
        data = await self._body(reply, f"tags of {self.name}")
        try:
            tags = json.loads(data).get("tags") or []
        except (ValueError, AttributeError) as exc:
            raise Unavailable(f"registry {self.session.registry} sent bad JSON for tags") from exc
        return [t for t in tags if isinstance(t, str)]

    # --- blobs -----------------------------------------------------------------------

    async def open_blob(self, digest: str, offset: int = 0) -> tuple[Reply, int]:
        """The blob's bytes from `offset` (with Range); returns the reply and the offset
        it really starts at (0 when the registry ignored the range)."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        reply = await self.session.request(
            "GET", self._url("blobs", digest), scopes=self.scopes, headers=headers
        )
        if reply.status == 206:
            return reply, offset
        if reply.status == 200:
            return reply, 0
        await self._body(reply, f"blob {digest} of {self.name}")
        raise AssertionError("unreachable")

    async def blob_exists(self, digest: str) -> bool:
        reply = await self.session.request("HEAD", self._url("blobs", digest), scopes=self.scopes)
        reply.release()
        if reply.status == 200:
            return True
        if reply.status == 404:
            return False
        raise registry_error(reply.status, b"", f"blob {digest} of {self.name}")

    async def mount_blob(self, digest: str, source_path: str) -> str | None:
        """Ask the registry to link a blob from another repository; None once mounted,
        else the upload location it opened instead."""
        query = urllib.parse.urlencode({"mount": digest, "from": source_path})
        reply = await self.session.request(
            "POST", f"/v2/{self.path}/blobs/uploads/?{query}",
            scopes=(*self.scopes, repository_scope(source_path)),
        )  # fmt: skip
        await self._body(reply, f"mount of {digest} into {self.name}", ok=(201, 202))
        if reply.status == 201:
            return None
        return self._location(reply)

    async def start_upload(self) -> str:
        reply = await self.session.request(
            "POST", f"/v2/{self.path}/blobs/uploads/", scopes=self.scopes
        )
        await self._body(reply, f"upload to {self.name}", ok=(202,))
        return self._location(reply)

    async def upload_chunk(
        self, location: str, chunk: Callable[[], AsyncIterable[bytes]], start: int, size: int
    ) -> str:
        """PATCH one chunk at `start`; the next location."""
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{start}-{start + size - 1}",
            "Content-Length": str(size),
        }
        reply = await self.session.request(
            "PATCH", location, scopes=self.scopes, headers=headers, body=chunk
        )
        await self._body(reply, f"upload to {self.name}", ok=(202,))
        return self._location(reply)

    async def finish_upload(
        self, location: str, digest: str, body: Callable[[], AsyncIterable[bytes]] | None,
        size: int,
    ) -> None:
        """The closing PUT: with the whole blob (monolithic) or empty after chunks."""
        separator = "&" if "?" in location else "?"
        url = location + separator + urllib.parse.urlencode({"digest": digest})
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        reply = await self.session.request(
            "PUT", url, scopes=self.scopes, headers=headers, body=body if body else b""
        )
        await self._body(reply, f"upload of {digest} to {self.name}", ok=(201, 204))

    # --- helpers ---------------------------------------------------------------------

    def _url(self, kind: str, reference: str) -> str:
        return f"/v2/{self.path}/{kind}/{reference}"

    def _location(self, reply: Reply) -> str:
        location = reply.headers.get("Location", "")
        if not location:
            raise Unavailable(f"registry {self.session.registry} sent no upload location")
        return urllib.parse.urljoin(reply.url, location)

    async def _body(self, reply: Reply, what: str, ok: tuple[int, ...] = (200,)) -> bytes:
        data = await reply.read(MAX_DOCUMENT)
        if reply.status == 404 and 404 not in ok:
            message = registry_message(data)
            raise NotFound(f"{what} not found" + (f": {message}" if message else ""))
        if reply.status not in ok:
            raise registry_error(reply.status, data, what)
        return data


def _media_type(data: bytes, header: str) -> str:
    """The manifest's own mediaType, else the Content-Type, else guessed from its shape."""
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise InvalidArgument("the registry sent a manifest that is not JSON") from exc
    if isinstance(body, dict):
        if isinstance(body.get("mediaType"), str) and body["mediaType"]:
            return body["mediaType"]
        content_type = header.split(";", 1)[0].strip()
        if content_type and content_type not in ("application/json", "text/plain"):
            return content_type
        if body.get("schemaVersion") == 1:
            return "application/vnd.docker.distribution.manifest.v1+json"
        return mt.OCI_INDEX if "manifests" in body else mt.OCI_MANIFEST
    raise InvalidArgument("the registry sent a manifest that is not a JSON object")


async def aiter_bytes(data: bytes, size: int = 1 << 20) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
