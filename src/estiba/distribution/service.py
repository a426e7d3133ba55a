"""The registry service the daemon holds: pull, push, login and search over one
transport and one token cache, each an operation that reports Docker's progress.

Streaming operations check their arguments and raise before they return the stream;
errors met later end the stream (the API reports them in it as errorDetail).
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from estiba.api.types import Progress
from estiba.content import Platform
from estiba.distribution.credentials import AuthConfig, normalize_server
from estiba.distribution.platforms import parse_platform
from estiba.distribution.progress import Emit, status
from estiba.distribution.pull import PullRequest, Puller
from estiba.distribution.push import Pusher
from estiba.distribution.registries import RegistryOptions, endpoints
from estiba.distribution.repository import Repository
from estiba.distribution.session import RegistrySession
from estiba.distribution.tokens import TokenCache
from estiba.distribution.transport import AiohttpTransport, Transport, registry_error
from estiba.errors import (
    EstibaError,
    InvalidArgument,
    NotFound,
    Unauthorized,
    Unavailable,
    Unsupported,
)
from estiba.images import ImageStore, Reference, parse_reference
from estiba.images.reference import DEFAULT_DOMAIN

log = logging.getLogger(__name__)

_END = object()


class RegistryService:
    """Registries for one image store. Lifecycle: made once by the daemon (no I/O then);
    each operation opens sessions on the shared transport as it needs them; `close` ends
    the pooled connections when the daemon stops. Pulls share one Puller, so that the
    download limit, in-flight layers and blob claims span every pull at once."""

    def __init__(
        self,
        store: ImageStore,
        options: RegistryOptions | None = None,
        *,
        snapshotter: Any = None,
        transport: Transport | None = None,
        tokens: TokenCache | None = None,
    ) -> None:
        self.store = store
        self.options = options or RegistryOptions()
        self.snapshotter = snapshotter
        self.transport = transport or AiohttpTransport(
            connect_timeout=self.options.connect_timeout, read_timeout=self.options.read_timeout
        )
        self.tokens = tokens or TokenCache()
        self._puller: Puller | None = None
        self._pusher: Pusher | None = None

    def session(self, domain: str, auth: AuthConfig | None) -> RegistrySession:
        """A session with the registry itself: pushes, logins and searches never go to a
        mirror (pulls try mirrors first, see `pull`)."""
        upstream = [e for e in endpoints(domain, self.options) if not e.mirror]
        return RegistrySession(upstream, self.transport, self.tokens, auth)

    async def close(self) -> None:
        await self.transport.close()

    # --- pull ---------------------------------------------------------------------------

    async def pull(
        self, image: str, tag: str = "", *, platform: str = "", auth: AuthConfig | None = None
    ) -> AsyncIterator[Progress]:
        """`POST /images/create?fromImage=&tag=`: an empty tag on a name without one pulls
        every tag (`pull -a`)."""
        reference, all_tags = pull_reference(image, tag)
        wanted = parse_platform(platform)

        async def work(emit: Emit) -> None:
            # Mirrors first (docker.io only); one that fails or lacks the image is skipped.
            candidates = endpoints(reference.domain, self.options)
            for mirror in [e for e in candidates if e.mirror]:
                session = RegistrySession([mirror], self.transport, self.tokens, auth)
                try:
                    await from_registry(Repository(session, reference.path), emit)
                    return
                except (NotFound, Unavailable, Unauthorized) as exc:
                    log.warning("mirror %s: %s; trying the next", mirror.url, exc)
            upstream = self.session(reference.domain, auth)
            await from_registry(Repository(upstream, reference.path), emit)

        async def from_registry(repo: Repository, emit: Emit) -> None:
            refs = [reference]
            if all_tags:
                refs = [reference.with_tag(t) for t in sorted(await repo.tags())]
                if not refs:
                    raise NotFound(f"{reference.familiar_name}: the registry has no tags")
            newer = False
            for ref in refs:
                newer = await self._pull_tag(repo, ref, wanted, emit) or newer
            shown = reference.familiar_name if all_tags else reference.familiar()
            verdict = "Downloaded newer image for" if newer else "Image is up to date for"
            emit(status(f"Status: {verdict} {shown}"))

        return _stream(work)

    async def _pull_tag(
        self, repo: Repository, ref: Reference, platform: Platform, emit: Emit
    ) -> bool:
        """One reference; whether anything new came."""
        try:
            result = await self._get_puller().pull(repo, PullRequest(ref, platform), emit)
        except EstibaError as exc:
            raise _naming(exc, ref, repo) from exc
        return result.new

    def _get_puller(self) -> Puller:
        if self._puller is None:
            self._puller = Puller(
                self.store,
                snapshotter=self.snapshotter,
                max_concurrent_downloads=self.options.max_concurrent_downloads,
                attempts=self.options.download_attempts,
            )
        return self._puller

    # --- push ---------------------------------------------------------------------------

    async def push(
        self, name: str, tag: str = "", *, auth: AuthConfig | None = None
    ) -> AsyncIterator[Progress]:
        """`POST /images/{name}/push?tag=`: without a tag, every local tag of the repository."""
        base = parse_reference(name, default_tag=False)
        if base.digest:
            raise InvalidArgument(f"cannot push a digest reference: {name}")
        if tag:
            targets = [base.repository().with_tag(tag)]
        elif base.tag:
            targets = [base]
        else:
            targets = await asyncio.to_thread(self._local_tags, base)
        for target in targets:
            await asyncio.to_thread(self.store.get, str(target))  # NotFound before streaming

        async def work(emit: Emit) -> None:
            session = self.session(base.domain, auth)
            repo = Repository(session, base.path, push=True)
            emit(status(f"The push refers to repository [{base.repository().familiar()}]"))
            pusher = self._get_pusher()
            for target in targets:
                try:
                    await pusher.push(repo, target, emit)
                except EstibaError as exc:
                    raise _naming(exc, target, repo) from exc

        return _stream(work)

    def _local_tags(self, base: Reference) -> list[Reference]:
        from estiba.images import ImageFilters

        found = []
        for image in self.store.list(ImageFilters()):
            for name in image.repo_tags:
                ref = parse_reference(name)
                if ref.name == base.name:
                    found.append(ref)
        if not found:
            raise NotFound(f"An image does not exist locally with the tag: {base.familiar()}")
        return sorted(found, key=str)

    def _get_pusher(self) -> Pusher:
        if self._pusher is None:
            self._pusher = Pusher(
                self.store,
                max_concurrent_uploads=self.options.max_concurrent_uploads,
                chunk_size=self.options.chunk_size,
            )
        return self._pusher

    # --- login and search ----------------------------------------------------------------

    async def login(self, auth: AuthConfig) -> dict[str, str]:
        """`POST /auth`: whether the registry accepts these credentials."""
        domain = normalize_server(auth.server_address)
        await self.session(domain, auth).login()
        return {"Status": "Login Succeeded", "IdentityToken": ""}

    async def search(
        self, term: str, *, limit: int = 25, auth: AuthConfig | None = None
    ) -> list[dict[str, Any]]:
        """Docker Hub's search for docker.io; a registry's /v2/_catalog, filtered, else."""
        domain, query = split_search_term(term)
        if domain == DEFAULT_DOMAIN:
            return await self._hub_search(query, limit)
        session = self.session(domain, auth)
        reply = await session.request(
            "GET", f"/v2/_catalog?n={max(limit, 100)}", scopes=("registry:catalog:*",)
        )
        data = await reply.read()
        if reply.status in (401, 403, 404, 405):
            raise Unsupported(
                f"registry {domain} does not offer search (its catalog answered {reply.status})"
            )
        if reply.status >= 300:
            raise registry_error(reply.status, data, f"search of {domain}")
        names = json.loads(data).get("repositories") or []
        hits = [n for n in names if query.lower() in n.lower()][:limit]
        return [_search_result(f"{domain}/{name}") for name in hits]

    async def _hub_search(self, query: str, limit: int) -> list[dict[str, Any]]:
        url = "https://index.docker.io/v1/search?" + urllib.parse.urlencode(
            {"q": query, "n": limit}
        )
        reply = await self.transport.send("GET", url)
        data = await reply.read()
        if reply.status >= 300:
            raise registry_error(reply.status, data, "search of Docker Hub")
        results = json.loads(data).get("results") or []
        return [
            {
                "name": r.get("name", ""),
                "description": r.get("description", ""),
                "star_count": r.get("star_count", 0),
                "is_official": bool(r.get("is_official")),
                "is_automated": bool(r.get("is_automated")),
            }
            for r in results[:limit]
        ]


def pull_reference(image: str, tag: str) -> tuple[Reference, bool]:
    """fromImage and tag as dockerd reads them; (reference, whether to pull every tag)."""
    if not image:
        raise InvalidArgument("pull needs an image name")
    base = parse_reference(image, default_tag=False)
    if tag:
        if tag.startswith("sha256:") or ":" in tag:
            return base.repository().with_digest(tag), False
        return base.repository().with_tag(tag), False
    if base.tag or base.digest:
        return base, False
    return base, True


def split_search_term(term: str) -> tuple[str, str]:
    if not term:
        raise InvalidArgument("search needs a term")
    first, slash, rest = term.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return DEFAULT_DOMAIN, term


def _search_result(name: str) -> dict[str, Any]:
    return {"name": name, "description": "", "star_count": 0, "is_official": False,
            "is_automated": False}  # fmt: skip


def _naming(exc: EstibaError, ref: Reference, repo: Repository) -> EstibaError:
    """The same kind of error, saying which reference at which registry failed."""
    registry = repo.session.registry
    name = ref.familiar()
    if name in exc.message and registry in exc.message:
        return exc
    prefix = f"{name} ({registry})" if registry not in name else name
    return type(exc)(f"{prefix}: {exc.message}", hint=exc.hint)


def _stream(work: Callable[[Emit], Awaitable[None]]) -> AsyncIterator[Progress]:
    """Run `work` as a task; yield what it emits; end with its error, if any. Closing
    the stream early cancels the work (a failed pull cleans up after itself)."""

    async def generate() -> AsyncIterator[Progress]:
        queue: asyncio.Queue[Any] = asyncio.Queue()

        async def run() -> None:
            try:
                await work(queue.put_nowait)
            finally:
                queue.put_nowait(_END)

        task = asyncio.create_task(run())
        try:
            while (message := await queue.get()) is not _END:
                yield message
            await task
        finally:
            if not task.done():
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, EstibaError):
                    pass

    return generate()
