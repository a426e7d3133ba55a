"""The API's ImageBackend on the image store: list, inspect, tag, remove, import, save, load.

The store is synchronous (SQLite and files), so every call runs in a worker thread; request
bodies are spooled to a temporary file under the data root before the store reads them,
and saved archives are written to one before they are streamed out. Which containers use
an image is the store's `users` callback (given by the daemon when it opens the store).
"""

from __future__ import annotations

import asyncio
import json
import shlex
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from estiba.api.types import (
    Filters,
    ImageDeleteItem,
    ImageListOptions,
    ImportOptions,
    JSONObject,
    Progress,
    PruneReport,
    PullOptions,
    RegistryAuth,
)
from estiba.daemon._documents import history_json, inspect_json, summary_json
from estiba.engine.events import EventBus, parse_event_time
from estiba.errors import Conflict, InvalidArgument, NotFound, Unsupported
from estiba.images import (
    ContainerConfig,
    Image,
    ImageFilters,
    ImageStore,
    bootstrap_busybox,
    bootstrap_debian,
    import_image,
    load,
    save,
)
from estiba.images._records import unix_time

if TYPE_CHECKING:
    from estiba.distribution.credentials import AuthConfig
    from estiba.distribution.service import RegistryService

__all__ = ["StoreImageBackend"]

T = TypeVar("T")
_CHUNK = 1 << 16


class StoreImageBackend:
    """ImageBackend (and the `/estiba/images/bootstrap` extension) over an ImageStore."""

    def __init__(
        self,
        store: ImageStore,
        *,
        tmpdir: Path,
        events: EventBus | None = None,
        registry: RegistryService | None = None,
        snapshots: Any = None,
    ):
        self.store = store
        self.tmpdir = Path(tmpdir)
        self.events = events
        self.registry = registry
        # The unpacked layers (committed snapshots named by chain id) of removed images go
        # with them, unless another image, a container or a build still sits on them.
        self.snapshots = snapshots

    # --- reading ---------------------------------------------------------------------

    async def list_images(self, options: ImageListOptions) -> list[JSONObject]:
        return await _thread(self._list, options)

    def _list(self, options: ImageListOptions) -> list[JSONObject]:
        f = options.filters
        dangling = _one_bool(f, "dangling")
        filters = ImageFilters(
            dangling=dangling,
            labels=tuple(f.get("label", ())),
            references=tuple(f.get("reference", ())),
            all=options.all,
        )
        images = self.store.list(filters)
        for key, keep in (("before", lambda t, c: t < c), ("since", lambda t, c: t > c)):
            for ref in f.get(key, ()):
                pivot = unix_time(self.store.get(ref).created)
                images = [i for i in images if keep(unix_time(i.created), pivot)]
        return [summary_json(image) for image in images]

    async def inspect_image(self, ref: str) -> JSONObject:
        def inspect() -> JSONObject:
            image = self._get(ref)
            return inspect_json(image, self.store.config(image.id))

        return await _thread(inspect)

    async def image_history(self, ref: str) -> list[JSONObject]:
        def history() -> list[JSONObject]:
            return [history_json(item) for item in self.store.history(self._get(ref).id)]

        return await _thread(history)

    def _get(self, ref: str) -> Image:
        try:
            return self.store.get(ref)
        except NotFound:
            raise NotFound(f"No such image: {ref}") from None

    # --- naming and removing --------------------------------------------------------

    async def tag_image(self, ref: str, *, repo: str, tag: str) -> None:
        def tag_it() -> None:
            image = self._get(ref)
            target = self.store.tag(image.id, f"{repo}:{tag or 'latest'}")
            self._publish("tag", image.id, target.familiar())

        await _thread(tag_it)

    async def remove_image(self, ref: str, *, force: bool, prune: bool) -> list[ImageDeleteItem]:
        def remove() -> list[ImageDeleteItem]:
            self._get(ref)
            chains = self._layer_chains()
            report = self.store.remove(ref, force=force, noprune=not prune)
            self._release_layers(chains, report.deleted)
            for name in report.untagged:
                self._publish("untag", ref, name)
            for image_id in report.deleted:
                self._publish("delete", image_id, ref)
            return [ImageDeleteItem(untagged=name) for name in report.untagged] + [
                ImageDeleteItem(deleted=image_id) for image_id in report.deleted
            ]

        return await _thread(remove)

    async def prune_images(self, filters: Filters) -> PruneReport:
        return await _thread(self._prune, filters)

    def _prune(self, filters: Filters) -> PruneReport:
        chains = self._layer_chains()
        report = self._prune_keeping(filters) if filters.get("keep") else self._prune_images(filters)
        self._release_layers(chains, [item.deleted for item in report.deleted if item.deleted])
        return report

    def _layer_chains(self) -> dict[str, list[str]]:
        """Each image's layer snapshots (chain ids), bottom first."""
        if self.snapshots is None:
            return {}
        from estiba.snapshots.unpack import chain_ids

        return {
            image.id: chain_ids([diff_id for diff_id, _ in self.store.layers(image.id)])
            for image in self.store.list()
        }

    def _release_layers(self, chains: dict[str, list[str]], deleted: Iterable[str]) -> None:
        """Remove the layer snapshots only the deleted images used, top first; one that
        still has children (a container's root, a build step) stays."""
        if self.snapshots is None:
            return
        deleted = set(deleted)
        kept = {chain for image_id, stack in chains.items() if image_id not in deleted for chain in stack}
        for image_id in deleted:
            for chain in reversed(chains.get(image_id, [])):
                if chain in kept:
                    break  # everything below is shared too
                try:
                    self.snapshots.remove(chain)
                except NotFound:
                    continue  # removed with another deleted image on the same layers
                except Conflict:
                    break

    def _prune_images(self, filters: Filters) -> PruneReport:
        only_dangling = _one_bool(filters, "dangling")
        only_dangling = True if only_dangling is None else only_dangling
        until = [parse_event_time(v) // 1_000_000_000 for v in filters.get("until", ())]
        candidates = self.store.list(
            ImageFilters(
                dangling=True if only_dangling else None, labels=tuple(filters.get("label", ()))
            )
        )
        unwanted = _labelled(filters.get("label!", ()))
        deleted: list[ImageDeleteItem] = []
        reclaimed = 0
        for image in candidates:
            if only_dangling and image.repo_tags:
                continue
            if any(unix_time(image.created) >= limit for limit in until):
                continue
            if unwanted(image):
                continue
            try:
                report = self.store.remove(image.id)
            except (Conflict, NotFound):
                continue  # in use, or a parent already removed with its child
            deleted += [ImageDeleteItem(untagged=name) for name in report.untagged]
            deleted += [ImageDeleteItem(deleted=image_id) for image_id in report.deleted]
            reclaimed += image.size
            for image_id in report.deleted:
                self._publish("delete", image_id, image_id)
        return PruneReport(deleted=tuple(deleted), space_reclaimed=reclaimed)

    def _prune_keeping(self, filters: Filters) -> PruneReport:
        """Keep the N newest images of each repository (by creation time); of the older
        ones, untag that repository's tags, and delete the images nothing names any more
        and no container uses. `until` and `label` narrow what may go."""
        keep = _keep_count(filters)
        until = [parse_event_time(v) // 1_000_000_000 for v in filters.get("until", ())]
        unwanted = _labelled(filters.get("label!", ()))
        images = self.store.list(ImageFilters(labels=tuple(filters.get("label", ()))))
        plan = plan_keep_newest(images, keep)
        deleted: list[ImageDeleteItem] = []
        reclaimed = 0
        for image, tags in plan:
            if any(unix_time(image.created) >= limit for limit in until) or unwanted(image):
                continue
            for tag in tags:
                self.store.untag(tag)
                deleted.append(ImageDeleteItem(untagged=tag))
                self._publish("untag", image.id, tag)
            if set(tags) >= set(image.repo_tags):
                try:  # nothing names it any more: delete it unless a container uses it
                    report = self.store.remove(image.id)
                except (Conflict, NotFound):
                    continue
                deleted += [ImageDeleteItem(deleted=i) for i in report.deleted]
                reclaimed += image.size if report.deleted else 0
                for image_id in report.deleted:
                    self._publish("delete", image_id, image_id)
        return PruneReport(deleted=tuple(deleted), space_reclaimed=reclaimed)

    # --- moving images in and out ----------------------------------------------------

    async def pull_image(self, options: PullOptions) -> AsyncIterator[Progress]:
        registry = self._registry(f"cannot pull {options.image}")
        stream = await registry.pull(
            options.image, options.tag, platform=options.platform, auth=_auth(options.auth)
        )
        return self._published(stream, "pull", options.image, options.tag)

    async def push_image(
        self, ref: str, *, tag: str, auth: RegistryAuth
    ) -> AsyncIterator[Progress]:
        registry = self._registry(f"cannot push {ref}")
        stream = await registry.push(ref, tag, auth=_auth(auth))
        return self._published(stream, "push", ref, tag)

    async def search_images(
        self, term: str, *, limit: int, auth: RegistryAuth
    ) -> list[JSONObject]:
        registry = self._registry(f"cannot search {term}")
        return await registry.search(term, limit=limit, auth=_auth(auth))

    async def authenticate(self, auth: RegistryAuth) -> JSONObject:
        from estiba.distribution.credentials import AuthConfig

        registry = self._registry("cannot log in")
        config = AuthConfig(
            auth.username, auth.password, auth.server_address, auth.identity_token
        )
        return await registry.login(config)

    def _registry(self, what: str) -> RegistryService:
        if self.registry is None:
            raise Unsupported(
                f"{what}: this estibad has no registry client",
                hint="use `estiba image bootstrap busybox|debian` or `docker load`",
            )
        return self.registry

    async def _published(
        self, stream: AsyncIterator[Progress], action: str, image: str, tag: str
    ) -> AsyncIterator[Progress]:
        async for message in stream:
            yield message
        name = f"{image}:{tag}" if tag and ":" not in tag else image
        self._publish(action, name, name)

    async def import_image(
        self, source: AsyncIterator[bytes] | str, options: ImportOptions
    ) -> AsyncIterator[Progress]:
        if isinstance(source, str):
            raise Unsupported(f"cannot import from {source}: only `-` (the request body) is")
        config = _apply_changes(options.changes)
        ref = _import_ref(options.repo, options.tag)
        return self._import(source, ref, options.message, config)

    async def _import(
        self,
        source: AsyncIterator[bytes],
        ref: str | None,
        message: str,
        config: ContainerConfig | None,
    ) -> AsyncIterator[Progress]:
        with self._spool() as spool:
            await _copy_to(source, spool)

            def run() -> Image:
                spool.seek(0)
                return import_image(
                    self.store, spool, ref=ref, message=message, container_config=config
                )

            image = await _thread(run)
        self._publish("import", image.id, ref or image.id)
        yield Progress(status=image.id)

    async def save_images(self, refs: list[str]) -> AsyncIterator[bytes]:
        for ref in refs:
            await _thread(self._get, ref)
        spool = self._spool()
        try:
            await _thread(save, self.store, refs, spool)
        except BaseException:
            spool.close()
            raise
        for ref in refs:
            self._publish("save", ref, ref)
        return _read_back(spool)

    async def load_images(
        self, data: AsyncIterator[bytes], *, quiet: bool
    ) -> AsyncIterator[Progress]:
        return self._load(data)

    async def _load(self, data: AsyncIterator[bytes]) -> AsyncIterator[Progress]:
        with self._spool() as spool:
            await _copy_to(data, spool)

            def run() -> list[Any]:
                spool.seek(0)
                return load(self.store, spool, tmpdir=str(self.tmpdir))

            loaded = await _thread(run)
        for image in loaded:
            self._publish("load", image.id, image.id)
            if image.tags:
                for tag in image.tags:
                    yield Progress(stream=f"Loaded image: {tag}\n")
            else:
                yield Progress(stream=f"Loaded image ID: {image.id}\n")

    # --- the /estiba extension ---------------------------------------------------------

    async def bootstrap_image(self, name: str) -> JSONObject:
        """`busybox` from the host's busybox-static; `debian[:suite]` with debootstrap."""
        repo, _, suite = name.partition(":")
        if repo == "busybox":
            if suite not in ("", "latest"):
                raise InvalidArgument(f"busybox has no suite {suite!r}: use `busybox`")
            image = await _thread(bootstrap_busybox, self.store)
        elif repo == "debian":
            suite = suite or "bookworm"
            tag = f"debian:{suite}"
            image = await _thread(
                bootstrap_debian, self.store, suite, tag=tag, workdir=self._workdir()
            )
        else:
            raise InvalidArgument(
                f"cannot bootstrap {name!r}", hint="use busybox or debian[:suite]"
            )
        self._publish("import", image.id, name)
        return {"Id": image.id, "RepoTags": list(image.repo_tags), "Size": image.size}

    # --- helpers -----------------------------------------------------------------------

    def _workdir(self) -> Path:
        # Made on first use: a fresh data root has no tmp/ until something needs it.
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        return self.tmpdir

    def _spool(self) -> IO[bytes]:
        return tempfile.TemporaryFile(dir=self._workdir())

    def _publish(self, action: str, actor: str, name: str) -> None:
        if self.events is not None:
            self.events.publish("image", action, actor, {"name": name})


async def _thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def _copy_to(source: AsyncIterator[bytes], out: IO[bytes]) -> None:
    async for chunk in source:
        await asyncio.to_thread(out.write, chunk)
    await asyncio.to_thread(out.flush)


async def _read_back(spool: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        spool.seek(0)
        while chunk := await asyncio.to_thread(spool.read, _CHUNK):
            yield chunk
    finally:
        spool.close()


def _auth(auth: RegistryAuth) -> AuthConfig | None:
    """The X-Registry-Auth credentials in the registry client's type; None when empty."""
    from estiba.distribution.credentials import AuthConfig

    config = AuthConfig(
        username=auth.username,
        password=auth.password,
        server_address=auth.server_address,
        identity_token=auth.identity_token,
        registry_token=auth.registry_token,
    )
    return None if config.empty else config


def _import_ref(repo: str, tag: str) -> str | None:
    """The name `docker import` gives: the CLI sends `repo=name:tag` without `tag`."""
    if not repo:
        return None
    if tag:
        return f"{repo}:{tag}"
    last = repo.rpartition("/")[2]
    return repo if ":" in last or "@" in last else f"{repo}:latest"


def _keep_count(filters: Filters) -> int:
    values = filters.get("keep", ())
    if len(values) != 1 or not values[0].isdigit():
        raise InvalidArgument(f"invalid filter 'keep={','.join(values)}': give one count")
    return int(values[0])


def plan_keep_newest(images: list[Image], keep: int) -> list[tuple[Image, list[str]]]:
    """For each image, the tags it loses: those of repositories where `keep` newer images
    (by creation, then by when they were added) come before it."""
    from estiba.images import parse_reference

    by_repo: dict[str, list[tuple[Image, str]]] = {}
    for image in images:
        for tag in image.repo_tags:
            by_repo.setdefault(parse_reference(tag).name, []).append((image, tag))
    losing: dict[str, tuple[Image, list[str]]] = {}
    for entries in by_repo.values():
        entries.sort(key=lambda e: (unix_time(e[0].created), e[0].added_at or ""), reverse=True)
        kept: list[str] = []
        for image, tag in entries:
            if image.id in kept or len(kept) < keep:
                if image.id not in kept:
                    kept.append(image.id)
                continue
            losing.setdefault(image.id, (image, []))[1].append(tag)
    return list(losing.values())


def _one_bool(filters: Filters, key: str) -> bool | None:
    values = {v.lower() for v in filters.get(key, ())}
    if not values:
        return None
    if values <= {"true", "1"}:
        return True
    if values <= {"false", "0"}:
        return False
    raise InvalidArgument(f"invalid filter '{key}={','.join(sorted(values))}'")


def _labelled(labels: tuple[str, ...]) -> Callable[[Image], bool]:
    def has_any(image: Image) -> bool:
        for label in labels:
            key, eq, value = label.partition("=")
            if key in image.labels and (not eq or image.labels[key] == value):
                return True
        return False

    return has_any


def _apply_changes(changes: tuple[str, ...]) -> ContainerConfig | None:
    """`docker import --change`: the run-default instructions CMD, ENTRYPOINT, ENV, WORKDIR,
    USER and LABEL."""
    if not changes:
        return None
    config = ContainerConfig()
    for change in changes:
        instruction, _, rest = change.strip().partition(" ")
        rest = rest.strip()
        word = instruction.upper()
        if word in ("CMD", "ENTRYPOINT"):
            argv = _exec_form(rest)
            config = replace(config, **{"cmd" if word == "CMD" else "entrypoint": argv})
        elif word == "ENV":
            key, eq, value = rest.partition("=")
            if not eq:
                key, _, value = rest.partition(" ")
            config = replace(config, env=(*config.env, f"{key}={value.strip()}"))
        elif word == "WORKDIR":
            config = replace(config, working_dir=rest)
        elif word == "USER":
            config = replace(config, user=rest)
        elif word == "LABEL":
            key, _, value = rest.partition("=")
            config = replace(config, labels={**config.labels, key: value.strip('"')})
        else:
            raise InvalidArgument(
                f"{word} is not a valid change command for import",
                hint="use CMD, ENTRYPOINT, ENV, WORKDIR, USER or LABEL",
            )
    return config


def _exec_form(text: str) -> tuple[str, ...]:
    if text.startswith("["):
        try:
            argv = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"invalid JSON array in change: {text}") from exc
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise InvalidArgument(f"invalid JSON array in change: {text}")
        return tuple(argv)
    return ("/bin/sh", "-c", text) if text else tuple(shlex.split(text))
