"""The CLI's side of a build context: the directory walked (.dockerignore applied) and
packed into the tar that `POST /build` takes, as the docker CLI packs it.

Kept apart from `estiba.build.context` (the daemon's side) and light on imports on
purpose: `estiba build` loads this module on every run, and a fully cached rebuild is
mostly the client's own start-up.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import tempfile
from collections import namedtuple

from estiba.build.ignore import IgnoreMatcher, parse_dockerignore
from estiba.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO

__all__ = [
    "DEFAULT_DOCKERFILE",
    "ContextEntry",
    "ContextPlan",
    "is_archive",
    "matcher_for",
    "pack_context",
    "plan_context",
    "stream_context",
    "walk_tree",
    "write_context",
]

DEFAULT_DOCKERFILE = "Dockerfile"

# A file, directory or symlink to copy: its path relative to the source root (`rel`),
# the path on disk (`path`) and its lstat (`st`).
ContextEntry = namedtuple("ContextEntry", "rel path st")


def matcher_for(root: str | os.PathLike[str]) -> IgnoreMatcher:
    """The context's .dockerignore (none: nothing excluded)."""
    try:
        with open(os.path.join(root, ".dockerignore"), encoding="utf-8") as file:
            text = file.read()
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return IgnoreMatcher([])
    return IgnoreMatcher(parse_dockerignore(text))


def walk_tree(
    root: str | os.PathLike[str], top: str = "", matcher: IgnoreMatcher | None = None
) -> Iterator[ContextEntry]:
    """Every entry under `root/top` (not `top` itself), sorted, symlinks not followed;
    excluded paths (and directories with nothing included below) left out."""
    base = os.path.join(root, top) if top else os.fspath(root)
    try:
        names = sorted(os.listdir(base))
    except (NotADirectoryError, FileNotFoundError):
        return
    for name in names:
        rel = f"{top}/{name}" if top else name
        path = os.path.join(base, name)
        st = os.lstat(path)
        excluded = matcher is not None and matcher.excluded(rel)
        if stat.S_ISDIR(st.st_mode):
            if excluded and not (matcher is not None and matcher.may_include_below(rel)):
                continue
            if not excluded:
                yield ContextEntry(rel, path, st)
            yield from walk_tree(root, rel, matcher)
        elif not excluded:
            yield ContextEntry(rel, path, st)


# What goes into a context tar: the resolved root, its .dockerignore, the Dockerfile's
# name in the tar and, for one from elsewhere or from stdin, its bytes.
ContextPlan = namedtuple("ContextPlan", "root matcher name extra")


def pack_context(
    directory: str | os.PathLike[str],
    dockerfile: str | None = None,
    dockerfile_text: bytes | None = None,
) -> tuple[BinaryIO, str]:
    """The context tar (a temporary file, rewound) and the Dockerfile's name in it.

    `dockerfile` is a path as given to `-f` (relative to the working directory); one
    outside the context, or `dockerfile_text` (for `-f -`), goes in under a generated
    name, as the docker CLI does.
    """
    plan = plan_context(directory, dockerfile, dockerfile_text)
    spool = tempfile.TemporaryFile()
    write_context(plan, spool)
    spool.seek(0)
    return spool, plan.name


def stream_context(plan: ContextPlan) -> BinaryIO:
    """The context tar as a stream written by a thread while it is read (the upload
    starts at once, nothing is spooled); a failure to write it is raised by the read
    that would have returned its end, so a cut tar is never taken for a whole one."""
    import threading

    read_end, write_end = os.pipe()
    failure: list[BaseException] = []

    def write() -> None:
        try:
            with open(write_end, "wb") as sink:
                write_context(plan, sink)
        except BaseException as exc:  # handed to the reader
            failure.append(exc)

    writer = threading.Thread(target=write, name="context-tar", daemon=True)
    writer.start()
    return _PipeBody(open(read_end, "rb"), writer, failure)  # type: ignore[return-value]


class _PipeBody:
    def __init__(self, source: BinaryIO, writer: object, failure: list[BaseException]) -> None:
        self._source, self._writer, self._failure = source, writer, failure

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        if not data:
            self._writer.join()  # type: ignore[attr-defined]
            if self._failure:
                failure = self._failure[0]
                raise InvalidArgument(f"unable to prepare context: {failure}") from failure
        return data

    def close(self) -> None:
        self._source.close()  # a writer still going gets EPIPE and ends


def plan_context(
    directory: str | os.PathLike[str],
    dockerfile: str | None = None,
    dockerfile_text: bytes | None = None,
) -> ContextPlan:
    """Check the context and the Dockerfile (the errors come before any upload)."""
    root = os.path.realpath(directory)
    if not os.path.isdir(root):
        raise InvalidArgument(f"unable to prepare context: path {os.fspath(directory)!r} not found")
    matcher = matcher_for(root)
    name = DEFAULT_DOCKERFILE
    extra: bytes | None = dockerfile_text
    if dockerfile_text is None:
        chosen = os.path.realpath(dockerfile or os.path.join(root, DEFAULT_DOCKERFILE))
        if not os.path.isfile(chosen):
            raise InvalidArgument(f"unable to prepare context: cannot find the Dockerfile {chosen!r}")
        if chosen.startswith(root + os.sep):
            name = os.path.relpath(chosen, root).replace(os.sep, "/")
        else:
            with open(chosen, "rb") as file:
                extra = file.read()
    if extra is not None:
        taken = os.path.lexists(os.path.join(root, DEFAULT_DOCKERFILE))
        name = f".dockerfile.{os.urandom(10).hex()}" if taken else DEFAULT_DOCKERFILE
    return ContextPlan(root, matcher, name, extra)


def write_context(plan: ContextPlan, sink: BinaryIO) -> None:
    """The context tar, as the docker CLI makes it, written to `sink`."""
    root, matcher, name, extra = plan
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for entry in walk_tree(root, "", matcher):
            _add(tar, entry)
        # The daemon reads these even when .dockerignore lists them (as the docker CLI).
        for always in sorted({name, ".dockerignore"} if extra is None else {".dockerignore"}):
            path = os.path.join(root, always)
            if matcher.excluded(always) and os.path.isfile(path):
                _add(tar, ContextEntry(always, path, os.lstat(path)))
        if extra is not None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(extra), 0o600
            tar.addfile(info, io.BytesIO(extra))


def _add(tar: tarfile.TarFile, entry: ContextEntry) -> None:
    info = tar.gettarinfo(os.fspath(entry.path), arcname=entry.rel)
    if info is None:
        return  # a socket: no tar entry for it, as the docker CLI skips it
    info.uid = info.gid = 0  # the docker CLI sends every file as root's
    info.uname = info.gname = ""
    if info.isreg():
        with open(entry.path, "rb") as data:
            tar.addfile(info, data)
    else:
        tar.addfile(info)


def is_archive(head: bytes) -> bool:
    """Whether an upload is a tar (plain, gzip, bzip2 or xz) rather than a Dockerfile."""
    if head and not head.strip(b"\0"):
        return True  # an empty tar: end-of-archive blocks only
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")):
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"
