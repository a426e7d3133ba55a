"""A container's files from outside: `cp` both ways (the archive routes) and `commit`, as a
mixin of `EngineContainers` (which provides `_get`, `store`, `snapshots`, `paths`,
`images`, `_lock`, `_publish`, `_mount_view`, `_freeze`).

Paths follow dockerd's rules (daemon/archive.go): the directory part of a path is resolved
in the container's root with its symlinks followed, the last element is not (unless the
path ends in `/` or `/.`); an archive is named after the path's last element. Every
resolution goes through `estiba.snapshots.inroot`, so nothing outside the root is ever
read or written. A running container's mounted root is used as it is; a stopped one's
layers are mounted for the length of the request (read-only for reading; for writing
under the container's lock, so that a start waits).

The pure parts (path rules, `--change` parsing, the committed image config) are module
functions tested without root.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import posixpath
import shlex
import stat
import tempfile
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from estiba.api.types import Archive, CommitOptions, JSONObject, PathStat
from estiba.daemon.container_snapshots import ContainerSnapshots
from estiba.engine.states import State
from estiba.errors import Conflict, EstibaError, Forbidden, InvalidArgument, NotFound

__all__ = [
    "CommitOptions",
    "ContainerFiles",
    "apply_changes",
    "archive_name",
    "committed_config",
    "split_archive_path",
]

ARCHIVE_CHUNK = 1 << 16

# The image-config keys a container's Config carries over into a committed image.
_IMAGE_KEYS = (
    "User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
    "StopSignal", "Healthcheck", "OnBuild", "Shell", "ArgsEscaped",
)  # fmt: skip


# --- the path rules -----------------------------------------------------------------------


def split_archive_path(path: str) -> tuple[str, str, str]:
    """(absolute path as dockerd keeps it, directory part, last element) of a path given to
    the archive routes: a trailing `/` or `/.` is kept, and then the last element is ""
    or "." (the directory itself)."""
    cleaned = posixpath.normpath("/" + path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if posixpath.basename(path) == "." and posixpath.basename(cleaned) != ".":
        cleaned = cleaned.rstrip("/") + "/."
    if path.endswith("/") and not cleaned.endswith("/"):
        cleaned += "/"
    directory, _, base = cleaned.rpartition("/")
    return cleaned, directory or "/", base


def archive_name(abs_path: str) -> str:
    """Go's filepath.Base: the name the entries of an archive of `abs_path` start with."""
    stripped = abs_path.rstrip("/")
    if not stripped:
        return "/"
    return stripped.rpartition("/")[2]


# --- --change ------------------------------------------------------------------------------


def apply_changes(config: JSONObject, changes: tuple[str, ...] | list[str]) -> JSONObject:
    """Dockerfile instructions (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME,
    STOPSIGNAL, ONBUILD) applied to an image's `config` object (Docker's keys)."""
    result = json.loads(json.dumps(config))
    for change in changes:
        for line in change.splitlines():
            if line.strip():
                _apply_change(result, line.strip())
    return result


def _apply_change(config: JSONObject, line: str) -> None:
    instruction, _, rest = line.partition(" ")
    word, rest = instruction.upper(), rest.strip()
    if word in ("CMD", "ENTRYPOINT"):
        config["Cmd" if word == "CMD" else "Entrypoint"] = _command(rest)
        if word == "ENTRYPOINT" and "Cmd" in config and not _is_json_array(rest):
            config["Cmd"] = None  # dockerd: a shell-form ENTRYPOINT drops CMD
    elif word == "ENV":
        env = [e for e in (config.get("Env") or [])]
        for key, value in _pairs(rest, "ENV"):
            env = [e for e in env if e.partition("=")[0] != key] + [f"{key}={value}"]
        config["Env"] = env
    elif word == "LABEL":
        labels = dict(config.get("Labels") or {})
        labels.update(_pairs(rest, "LABEL", allow_space_form=False))
        config["Labels"] = labels
    elif word == "EXPOSE":
        ports = dict(config.get("ExposedPorts") or {})
        for port in rest.split():
            ports[port if "/" in port else f"{port}/tcp"] = {}
        config["ExposedPorts"] = ports
    elif word == "VOLUME":
        volumes = dict(config.get("Volumes") or {})
        for path in _json_or_words(rest):
            if not path:
                raise InvalidArgument("VOLUME specified can not be an empty string")
            volumes[path] = {}
        config["Volumes"] = volumes
    elif word == "USER":
        config["User"] = rest
    elif word == "WORKDIR":
        config["WorkingDir"] = posixpath.join(config.get("WorkingDir") or "/", rest)
    elif word == "STOPSIGNAL":
        config["StopSignal"] = rest
    elif word == "ONBUILD":
        config["OnBuild"] = [*(config.get("OnBuild") or []), rest]
    else:
        raise InvalidArgument(
            f"{word} is not a valid change command",
            hint="use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME or STOPSIGNAL",
        )


def _is_json_array(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _command(text: str) -> list[str]:
    if _is_json_array(text):
        return list(json.loads(text))
    return ["/bin/sh", "-c", text]


def _json_or_words(text: str) -> list[str]:
    if _is_json_array(text):
        return list(json.loads(text))
    return text.split()


def _pairs(text: str, word: str, *, allow_space_form: bool = True) -> list[tuple[str, str]]:
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InvalidArgument(f"{word} {text}: {exc}") from exc
    if not words:
        raise InvalidArgument(f"{word} requires at least one argument")
    if "=" not in words[0]:
        if not allow_space_form or len(words) < 2:
            raise InvalidArgument(f"{word} {text}: use {word} key=value")
        return [(words[0], " ".join(words[1:]))]
    pairs = []
    for item in words:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise InvalidArgument(f"{word} {text}: {item!r} is not key=value")
        pairs.append((key, value))
    return pairs


def committed_config(container_config: JSONObject, changes: tuple[str, ...]) -> JSONObject:
    """The `config` of a committed image: the container's run settings with the changes."""
    base = {k: container_config[k] for k in _IMAGE_KEYS if container_config.get(k) not in (None, {}, [], "")}
    if "Cmd" in container_config and container_config.get("Cmd") is None and "Cmd" in base:
        base.pop("Cmd")
    return apply_changes(base, changes)


# --- the mixin -------------------------------------------------------------------------------


class ContainerFiles(ContainerSnapshots):
    # --- stat and read ----------------------------------------------------------------

    async def stat_container_path(self, ref: str, path: str) -> PathStat:
        record = await self._get(ref)
        with contextlib.ExitStack() as undo:
            root = await self._root_for_reading(record, undo)
            root, inner, _ = await asyncio.to_thread(self._locate, record.id, root, path)
            found = await asyncio.to_thread(_stat_in_root, root, inner, record.name or record.id, path)
            return replace(found, name=archive_name(split_archive_path(path)[0]))

    async def get_container_archive(self, ref: str, path: str) -> Archive:
        record = await self._get(ref)
        undo = contextlib.ExitStack()
        try:
            root = await self._root_for_reading(record, undo)
            root, inner, _ = await asyncio.to_thread(self._locate, record.id, root, path)
            found = await asyncio.to_thread(_stat_in_root, root, inner, record.name or record.id, path)
            found = replace(found, name=archive_name(split_archive_path(path)[0]))
        except BaseException:
            undo.close()
            raise
        self._publish("archive-path", record, path=path)
        return Archive(found, _archive_chunks(root, inner, found, undo))

    def _locate(self, container_id: str, root: Path, path: str) -> tuple[Path, str, bool]:
        """(root, path inside it, read-only) of a container path: a path under one of the
        container's volumes or bind mounts is in that directory (as the container sees
        it), anything else in the container's own root."""
        volumes = getattr(self, "volumes", None)
        if volumes is None:
            return root, path, False
        abs_path, _, _ = split_archive_path(path)
        best: tuple[str, Path, bool] | None = None
        for spec in volumes.store.mounts(container_id):
            target = spec["target"].rstrip("/")
            inside = abs_path == target or abs_path.startswith(target + "/")
            if inside and (best is None or len(target) > len(best[0])):
                source = volumes.mountpoint(spec["source"]) if spec["kind"] == "volume" else Path(spec["source"])
                best = (target, Path(source), bool(spec.get("read_only")))
        if best is None:
            return root, path, False
        target, source, read_only = best
        return source, "/" + abs_path[len(target):].lstrip("/"), read_only

    async def _root_for_reading(self, record: Any, undo: contextlib.ExitStack) -> Path:
        root = self.paths(record.id).rootfs
        if record.running and os.path.ismount(root):
            return root
        return await asyncio.to_thread(self._mount_view, record.id, undo)

    # --- write --------------------------------------------------------------------------

    async def put_container_archive(
        self,
        ref: str,
        path: str,
        data: AsyncIterator[bytes],
        *,
        no_overwrite_dir_non_dir: bool = False,
        copy_uid_gid: bool = False,
    ) -> None:
        from estiba.snapshots.copyio import ExtractOptions

        record = await self._get(ref)
        if record.host_config.get("ReadonlyRootfs"):
            raise Forbidden("container rootfs is marked read-only")
        with tempfile.TemporaryFile(dir=self._spool_dir()) as spool:
            async for chunk in data:
                await asyncio.to_thread(spool.write, chunk)
            await asyncio.to_thread(spool.seek, 0)
            async with self._lock(record.id):
                record = await asyncio.to_thread(self.store.get, record.id)
                if record.state in (State.REMOVING, State.DEAD):
                    raise Conflict(f"container {record.id} is being removed")
                with contextlib.ExitStack() as undo:
                    root = self.paths(record.id).rootfs
                    if not (record.running and os.path.ismount(root)):
                        root = await asyncio.to_thread(self._mount_writable, record.id, undo)
                    owner = await asyncio.to_thread(_owner_of, record, root) if copy_uid_gid else None
                    options = ExtractOptions(no_overwrite_dir_non_dir, owner)
                    name = record.name or record.id
                    root, inner, read_only = await asyncio.to_thread(self._locate, record.id, root, path)
                    if read_only:
                        raise Forbidden("mounted volume is marked read-only")
                    await asyncio.to_thread(_extract_in_root, root, inner, spool, options, name)
        self._publish("extract-to-dir", record, path=path)

    def _spool_dir(self) -> Path:
        directory = self.data_root / "tmp"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return directory

    def _mount_writable(self, container_id: str, undo: contextlib.ExitStack) -> Path:
        """A stopped container's own mounts (its writable layer too) on a directory of
        ours; the caller holds the container's lock, so no start uses them meanwhile."""
        from estiba.daemon import rootfs
        from estiba.daemon.container_ops import _remove_dir

        parent = self.exec_root / "exports"
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = Path(tempfile.mkdtemp(prefix=f"{container_id[:12]}-rw-", dir=parent))
        undo.callback(_remove_dir, target)
        rootfs.mount_rootfs(self.snapshots.mounts(container_id), target)
        undo.callback(rootfs.unmount_rootfs, target)
        return target

    # --- commit -------------------------------------------------------------------------

    async def commit_container(self, ref: str, options: CommitOptions) -> str:
        """The container's writable layer as a new layer on top of its image; returns the
        new image's id. A running container is frozen meanwhile when `options.pause`."""
        record = await self._get(ref)
        if record.state in (State.REMOVING, State.DEAD):
            raise Conflict(f"You cannot commit container {record.id} which is {record.state.value}")
        reference = _commit_reference(options.repo, options.tag)
        image_id = await asyncio.to_thread(self._commit, record, options, reference)
        self._publish("commit", record, comment=options.comment, imageID=image_id,
                      imageRef=reference or "")
        return image_id

    def _commit(self, record: Any, options: CommitOptions, reference: str | None) -> str:
        from estiba.images.assemble import now_rfc3339, write_image
        from estiba.images.layers import import_tar
        from estiba.images.model import ContainerConfig, History
        from estiba.snapshots import layer_dirs
        from estiba.snapshots.commit import layer_from_upper_without
        from estiba.snapshots.frozen import own_view

        with contextlib.ExitStack() as undo:
            if options.pause and record.state is State.RUNNING:
                self._freeze(record, True)
                undo.callback(self._freeze, record, False)
            upper = layer_dirs(self.snapshots.mounts(record.id)).upper
            if upper is None:
                raise Conflict(f"container {record.id} has no writable layer")
            with own_view(self.snapshots, record.id) as dirs:  # frozen layers and upper as one
                with layer_from_upper_without(dirs.upper, _HIDDEN) as stream:
                    layer, diff_id = import_tar(stream, self.images.content)
        parent = self.images.get(record.image_id)
        parent_config = self.images.config(parent.id)
        source = dict(record.config)
        if options.config:
            source.update({k: v for k, v in options.config.items() if v not in (None, "", [], {})})
        run_config = ContainerConfig.from_json(committed_config(source, options.changes))
        created = now_rfc3339()
        command = " ".join([*(record.config.get("Entrypoint") or []), *(record.config.get("Cmd") or [])])
        history = History(created=created, created_by=command, author=options.author,
                          comment=options.comment)
        config = replace(
            parent_config, config=run_config, diff_ids=(*parent_config.diff_ids, diff_id),
            history=(*parent_config.history, history), created=created, author=options.author,
        )
        layers = [descriptor for _, descriptor in self.images.layers(parent.id)]
        manifest = write_image(self.images.content, config, [*layers, layer])
        image = self.images.add(manifest.digest, refs=[reference] if reference else [], parent=parent.id)
        return image.id

    # Provided by EngineContainers.
    _get: Any
    _lock: Any
    _publish: Any
    _mount_view: Any
    _freeze: Any
    store: Any
    snapshots: Any
    images: Any
    paths: Any
    exec_root: Path
    data_root: Path


# What the runtime puts in a container's writable layer as mount points: never committed.
_HIDDEN = frozenset({"etc/hostname", "etc/hosts", "etc/resolv.conf", ".dockerenv", "etc/mtab", "dev/console"})


def _commit_reference(repo: str, tag: str) -> str | None:
    if not repo:
        if tag:
            raise InvalidArgument("tag given without a repository")
        return None
    from estiba.images import parse_reference

    text = f"{repo}:{tag}" if tag else repo
    try:
        parse_reference(text)
    except EstibaError as exc:
        raise InvalidArgument(f"invalid reference format: {text}") from exc
    return text


def _stat_in_root(root: Path, path: str, container: str, shown: str = "") -> PathStat:
    """The PathStat of `path` in `root`; NotFound names `shown` (the client's path)."""
    from estiba.snapshots.inroot import Root

    abs_path, directory, base = split_archive_path(path)
    path = shown or path
    with Root(root) as inside:
        try:
            holder = inside.open(directory, follow=True)
        except NotFound:
            raise NotFound(f"Could not find the file {path} in container {container}") from None
        try:
            if base in ("", "."):
                st = os.fstat(holder)
            else:
                try:
                    st = os.stat(base, dir_fd=holder, follow_symlinks=False)
                except (FileNotFoundError, NotADirectoryError):
                    raise NotFound(f"Could not find the file {path} in container {container}") from None
        finally:
            os.close(holder)
        link = inside.resolve(abs_path, follow=True) if stat.S_ISLNK(st.st_mode) else ""
    return PathStat(archive_name(abs_path), st.st_size, st.st_mode, st.st_mtime_ns, link)


async def _archive_chunks(root: Path, path: str, found: PathStat, undo: contextlib.ExitStack) -> AsyncIterator[bytes]:
    from estiba.snapshots.archive import tar_reader
    from estiba.snapshots.copyio import tar_path
    from estiba.snapshots.inroot import Root

    with undo:
        inside = Root(root)
        undo.callback(inside.close)
        _, directory, base = split_archive_path(path)
        resolved = inside.resolve(directory, follow=True)
        target = resolved if base in ("", ".") else posixpath.join(resolved, base)
        rebase = found.name if found.name != "/" else "."
        reader = tar_reader(tar_path(inside, target, rebase))
        undo.callback(reader.close)  # before the root goes: the walk holds directories
        while chunk := await asyncio.to_thread(reader.read, ARCHIVE_CHUNK):
            yield chunk


def _extract_in_root(root: Path, path: str, spool: Any, options: Any, container: str) -> None:
    from estiba.snapshots.copyio import extract_tar
    from estiba.snapshots.inroot import Root

    abs_path, _, _ = split_archive_path(path)
    with Root(root) as inside:
        try:
            fd = inside.open(abs_path, follow=True)
        except NotFound:
            raise NotFound(f"Could not find the file {path} in container {container}") from None
        try:
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                raise InvalidArgument("extraction point is not a directory")
        finally:
            os.close(fd)
        extract_tar(inside, abs_path, spool, options)


def _owner_of(record: Any, root: Path) -> tuple[int, int]:
    """copyUIDGID: the container's user, as its own /etc/passwd names it."""
    from estiba.engine.users import resolve_user

    user = resolve_user(str(root), str(record.config.get("User") or ""))
    return user.uid, user.gid
