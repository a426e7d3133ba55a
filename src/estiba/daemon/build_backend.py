"""The API's BuildBackend over the builder: the uploaded context spooled and unpacked under
the data root, the Dockerfile checked before the stream starts, the build's messages as
the API's Progress, the cache (`build/cache.db`) pruned with the images it held.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from estiba.api.types import BuildCachePruneReport, BuildOptions, Filters, Progress
from estiba.errors import Conflict, EstibaError, InvalidArgument, NotFound

__all__ = ["EngineBuilds"]

# RUN's network when the client names none: the host's, until bridge networking is the
# engine's default (then "default" will mean the bridge, as for `docker run`).
DEFAULT_RUN_NETWORK = "bridge"  # as Docker's classic builder: the default bridge, NAT out


class EngineBuilds:
    """BuildBackend over the image store, the snapshotter and the containers backend."""

    def __init__(
        self,
        *,
        images: Any,
        snapshots: Any,
        containers: Any,
        data_root: Path,
        exec_root: Path,
        registry: Any = None,
        events: Any = None,
        default_network: str = DEFAULT_RUN_NETWORK,
    ) -> None:
        from estiba.build.builder import Builder
        from estiba.build.cache import BuildCache

        self.images = images
        self.snapshots = snapshots
        self.workdir = Path(exec_root) / "build"
        self.cache = BuildCache(Path(data_root) / "build" / "cache.db")
        self.tmpdir = Path(data_root) / "tmp"
        self.registry = registry
        self.events = events
        self.default_network = default_network
        self.builder = Builder(
            images=images,
            snapshots=snapshots,
            containers=containers,
            cache=self.cache,
            workdir=self.workdir,
            pull=self._pull if registry is not None else None,
        )

    def close(self) -> None:
        self.cache.close()

    def cleanup(self) -> None:
        """At daemon start: what a build cut short by a daemon that died left behind (its
        mounts, its snapshots, its unpacked contexts). No build runs yet."""
        import os
        import shutil

        from estiba.snapshots import unmount

        if self.workdir.is_dir():
            # By mountinfo, not os.path.ismount: a bind mount from the same filesystem
            # (a snapshot with no parent) looks like a plain directory to it.
            for target in reversed(_mount_points_under(self.workdir)):
                with contextlib.suppress(EstibaError):
                    unmount(target, detach=True)
            for entry in self.workdir.iterdir():
                with contextlib.suppress(OSError):
                    os.rmdir(entry)  # never rmtree: a mount left there holds a snapshot
        for info in self.snapshots.walk():
            if info.name.startswith(("build-", "build-view-")):
                with contextlib.suppress(EstibaError):
                    self.snapshots.remove(info.name)
        if self.tmpdir.is_dir():
            for entry in self.tmpdir.glob("build-*"):
                shutil.rmtree(entry, ignore_errors=True)
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)

    async def build(self, context: AsyncIterator[bytes], options: BuildOptions) -> AsyncIterator[Progress]:
        from estiba.build.context import open_context
        from estiba.pipes import Pipe

        _check_tags(options.tags)
        build_options = replace(options, network_mode=_network(options.network_mode, self.default_network))
        self.tmpdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Unpacked by a thread while the upload arrives, not spooled to disk first.
        pipe = Pipe()

        def unpack() -> Any:
            try:
                return open_context(pipe, self.tmpdir)  # type: ignore[arg-type]
            finally:
                pipe.abandon()

        unpacking = asyncio.ensure_future(asyncio.to_thread(unpack))
        try:
            async for chunk in context:
                accepted = pipe.put(chunk) if pipe.has_room() else await asyncio.to_thread(pipe.put, chunk)
                if not accepted:
                    break  # the unpacking stopped (a bad archive): its error is the answer
        except BaseException:
            pipe.close()  # the upload failed (client gone): what was unpacked goes
            with contextlib.suppress(Exception):
                partial = await unpacking
                await asyncio.to_thread(partial.close)
            raise
        pipe.close()
        unpacked = await unpacking
        try:
            run = await asyncio.to_thread(self.builder.prepare, unpacked, build_options)
        except BaseException:
            await asyncio.to_thread(unpacked.close)
            raise
        return _BuildStream(self._messages(run, build_options), unpacked)

    async def _messages(self, run: Any, options: Any) -> AsyncIterator[Progress]:
        async for message in run.messages():
            if message.aux is not None:
                yield Progress(aux=dict(message.aux))
            else:
                yield Progress(stream=message.stream)
        for tag in options.tags:
            self._publish("tag", tag)

    async def _pull(self, ref: str, platform: str = "") -> None:
        from estiba.images import parse_reference

        parsed = parse_reference(ref)
        if parsed.digest:
            image, tag = f"{parsed.name}@{parsed.digest}", ""
        else:
            image, tag = parsed.name, parsed.tag or "latest"
        stream = await self.registry.pull(image, tag, platform=platform, auth=None)
        async for _ in stream:
            pass

    async def prune_cache(self, *, all: bool, filters: Filters) -> BuildCachePruneReport:
        """Every cache entry goes; the step images they named go too when nothing else
        holds them (no tag, no child image, no container)."""

        def own_size(image: Any) -> int:
            """A step image's own layer: its size less its parent's."""
            try:
                parent = self.images.get(image.parent) if image.parent else None
            except NotFound:
                parent = None
            return max(image.size - (parent.size if parent else 0), 0)

        def prune() -> BuildCachePruneReport:
            deleted: list[str] = []
            sizes: dict[str, int] = {}
            candidates = []
            for image_id in self.cache.prune():
                with contextlib.suppress(NotFound):
                    image = self.images.get(image_id)
                    sizes[image.id] = own_size(image)  # before a removal takes parents along
                    if not image.repo_tags:
                        candidates.append(image.id)
            for image_id in candidates:
                if image_id in deleted:
                    continue
                try:
                    report = self.images.remove(image_id)
                except (Conflict, NotFound, InvalidArgument):
                    continue
                deleted += [i for i in report.deleted if i not in deleted]
            reclaimed = sum(sizes.get(image_id, 0) for image_id in deleted)
            return BuildCachePruneReport(deleted=tuple(deleted), space_reclaimed=reclaimed)

        return await asyncio.to_thread(prune)

    def _publish(self, action: str, name: str) -> None:
        if self.events is not None:
            with contextlib.suppress(Exception):
                self.events.publish("image", action, name, {"name": name})


def _mount_points_under(directory: Path) -> list[str]:
    prefix = str(directory).rstrip("/") + "/"
    with open("/proc/self/mountinfo") as mountinfo:
        points = [line.split()[4] for line in mountinfo]
    return [p for p in points if p.startswith(prefix)]


class _BuildStream:
    """The build's messages; the unpacked context goes when the stream ends or is
    closed, even one closed before it was read (a client gone before the first line)."""

    def __init__(self, messages: AsyncIterator[Progress], context: Any) -> None:
        self._messages = messages
        self._context = context
        self._closed = False

    def __aiter__(self) -> _BuildStream:
        return self

    async def __anext__(self) -> Progress:
        try:
            return await self._messages.__anext__()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._messages.aclose()  # type: ignore[attr-defined]
        finally:
            await asyncio.to_thread(self._context.close)


def _network(mode: str, default: str) -> str:
    if mode in ("", "default"):
        return default
    if mode in ("host", "none"):
        return mode
    return mode  # a named network: the engine says whether it exists


def _check_tags(tags: tuple[str, ...]) -> None:
    from estiba.images import parse_reference

    for tag in tags:
        try:
            parse_reference(tag)
        except EstibaError as exc:
            raise InvalidArgument(f"invalid tag {tag!r}: {exc.message}") from exc
