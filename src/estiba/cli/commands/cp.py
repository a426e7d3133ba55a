"""`estiba cp`: files between a container and the local filesystem, with docker's rules.

    cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
    cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH

A directory source ending in `/.` copies its contents rather than itself; a destination
that exists as a directory receives the source inside it; one that does not exist is the
source's new name (a missing parent is an error; a trailing `/` asks for a directory).
`-` is a tar on stdin or stdout. The local side is read and written inside the chosen
directory only (`estiba.snapshots.inroot`), so an archive cannot reach beside it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import posixpath
import stat
import sys
from dataclasses import dataclass

from estiba.cli.base import Context
from estiba.cli.client import quote_ref
from estiba.errors import InvalidArgument, NotFound

_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-a", "--archive", action="store_true", help="Archive mode (copy all uid/gid information)")
    a("-L", "--follow-link", action="store_true", help="Always follow symbol link in SRC_PATH")
    a("-q", "--quiet", action="store_true", help="Suppress progress output during copy")
    a("source", metavar="SRC_PATH")
    a("destination", metavar="DEST_PATH")


@dataclass(frozen=True)
class Endpoint:
    container: str  # "" for a local path
    path: str


def split_endpoint(text: str) -> Endpoint:
    """docker's splitCpArg: `CONTAINER:PATH` unless the text is a local path (absolute, or
    starting with `.`), `-`, or has no colon."""
    if text == "-" or text.startswith(("/", ".")):
        return Endpoint("", text)
    container, sep, path = text.partition(":")
    if not sep:
        return Endpoint("", text)
    return Endpoint(container, path)


@dataclass(frozen=True)
class Placement:
    """Where an archive of the source lands: extracted in `directory`, its top entry
    renamed to `rename` ("" keeps its name; "." spreads a directory's contents)."""

    directory: str
    rename: str


def place(source_is_dir: bool, source_path: str, dest_path: str, dest: dict | None) -> Placement:
    """docker's CopyInfoDestinationPath and PrepareArchiveCopy, for a destination that
    exists (`dest` its stat: {"dir": bool}) or not (None)."""
    contents_only = source_path.endswith("/.") or source_path == "."
    if dest is not None and dest["dir"]:
        return Placement(dest_path, "." if (source_is_dir and contents_only) else "")
    if dest is not None:
        if source_is_dir:
            raise InvalidArgument("cannot copy a directory to a file")
        return Placement(posixpath.dirname(dest_path.rstrip("/")) or "/", posixpath.basename(dest_path))
    if dest_path.endswith("/") and not source_is_dir:
        raise NotFound(f"destination directory {dest_path} does not exist")
    stripped = dest_path.rstrip("/") or "/"
    return Placement(posixpath.dirname(stripped) or ".", posixpath.basename(stripped))


def execute(ctx: Context, args: argparse.Namespace) -> int:
    source, destination = split_endpoint(args.source), split_endpoint(args.destination)
    if source.container and destination.container:
        raise InvalidArgument("copying between containers is not supported")
    if not source.container and not destination.container:
        raise InvalidArgument("must specify at least one container source")
    if source.container:
        _copy_out(ctx, source, destination.path, follow=args.follow_link, archive=args.archive)
    else:
        _copy_in(ctx, source.path, destination, follow=args.follow_link, archive=args.archive)
    return 0


# --- out of a container -----------------------------------------------------------------


def _stat(ctx: Context, container: str, path: str) -> dict:
    response = ctx.client.open("HEAD", f"/containers/{quote_ref(container)}/archive", {"path": path})
    header = response.headers.get("x-docker-container-path-stat", "")
    response.close()
    return json.loads(base64.b64decode(header)) if header else {}


def _copy_out(ctx: Context, source: Endpoint, dest_path: str, *, follow: bool, archive: bool) -> None:
    from estiba.snapshots.copyio import ExtractOptions, extract_tar
    from estiba.snapshots.inroot import Root

    path = source.path or "/"
    found = _stat(ctx, source.container, path)
    if follow and found.get("mode", 0) & _GO_SYMLINK and found.get("linkTarget"):
        path = found["linkTarget"]
        found = _stat(ctx, source.container, path)
    response = ctx.client.open("GET", f"/containers/{quote_ref(source.container)}/archive", {"path": path})
    try:
        if dest_path == "-":
            ctx.stdout.flush()
            while chunk := response.read1(1 << 16):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        source_is_dir = bool(found.get("mode", 0) & _GO_DIR)
        placement = place(source_is_dir, path, dest_path, _local_stat(dest_path))
        if not os.path.isdir(placement.directory):
            raise NotFound(f"destination directory {placement.directory} does not exist")
        renamed = _Renamed(response, found.get("name", ""), placement.rename)
        with Root(placement.directory) as root:
            # docker cp writes local files as the user running it, unless -a.
            owner = None if archive else (os.getuid(), os.getgid())
            extract_tar(root, "/", renamed, ExtractOptions(owner=owner))
    finally:
        response.close()


def _local_stat(path: str) -> dict | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise InvalidArgument(f"{path}: a parent is not a directory") from None
    return {"dir": stat.S_ISDIR(st.st_mode)}


class _Renamed:
    """A tar stream whose entries named `old` (or `old/...`) are renamed `new`; `.` drops
    the top directory so that its contents land in place."""

    def __init__(self, response, old: str, new: str) -> None:  # noqa: ANN001
        import tarfile

        from estiba.snapshots.archive import tar_reader

        self._source = tarfile.open(fileobj=_Reader(response), mode="r|")
        self._old, self._new = old.strip("/") or ".", new
        self._reader = tar_reader(self._chunks())

    def _chunks(self):  # noqa: ANN202
        from estiba.snapshots.archive import END_OF_ARCHIVE

        for member in self._source:
            name = member.name.strip("/")
            if self._new:
                if name == self._old:
                    name = "." if self._new == "." else self._new
                elif name.startswith(self._old + "/"):
                    rest = name[len(self._old) + 1:]
                    name = rest if self._new == "." else f"{self._new}/{rest}"
            if name == ".":
                continue
            member.name = name
            data = self._source.extractfile(member) if member.isreg() else None
            yield member.tobuf(format=2, encoding="utf-8", errors="surrogateescape")
            if data is not None:
                left = member.size
                while left:
                    chunk = data.read(min(1 << 16, left))
                    if not chunk:
                        break
                    left -= len(chunk)
                    yield chunk
                if member.size % 512:
                    yield b"\0" * (512 - member.size % 512)
        yield END_OF_ARCHIVE

    def read(self, size: int = -1) -> bytes:
        return self._reader.read(size)


class _Reader:
    def __init__(self, response) -> None:  # noqa: ANN001
        self._response = response

    def read(self, size: int = -1) -> bytes:
        return self._response.read1(size if size > 0 else 1 << 16) if size else b""


# --- into a container -----------------------------------------------------------------------


def _copy_in(ctx: Context, source_path: str, destination: Endpoint, *, follow: bool, archive: bool) -> None:
    from estiba.errors import NotFound as Missing

    dest_path = destination.path or "/"
    container = quote_ref(destination.container)
    try:
        found = _stat(ctx, destination.container, dest_path)
        if found.get("mode", 0) & _GO_SYMLINK and found.get("linkTarget"):
            dest_path = found["linkTarget"]
            found = _stat(ctx, destination.container, dest_path)
        dest = {"dir": bool(found.get("mode", 0) & _GO_DIR)}
    except Missing:
        dest = None
    params = {"noOverwriteDirNonDir": True, "copyUIDGID": archive or None}
    if source_path == "-":
        if dest is None or not dest["dir"]:
            raise InvalidArgument(f"destination \"{destination.container}:{dest_path}\" must be a directory")
        params["path"] = dest_path
        ctx.client.open("PUT", f"/containers/{container}/archive", params, sys.stdin.buffer,
                        {"Content-Type": "application/x-tar"}).close()
        return
    try:
        st = os.stat(source_path) if follow else os.lstat(source_path)
    except FileNotFoundError:
        raise NotFound(f"no such file or directory: {source_path}") from None
    source_is_dir = stat.S_ISDIR(st.st_mode)
    placement = place(source_is_dir, source_path, dest_path, dest)
    if dest is None and not source_is_dir and dest_path.endswith("/"):
        raise NotFound(f"destination directory {dest_path} does not exist")
    params["path"] = placement.directory
    body = _local_tar(source_path, placement.rename, follow=follow)
    ctx.client.open("PUT", f"/containers/{container}/archive", params, body,
                    {"Content-Type": "application/x-tar"}).close()


def _local_tar(source_path: str, rename: str, *, follow: bool):  # noqa: ANN202
    """A tar of a local path, its top entry named `rename` (or its own name; "." for the
    contents of a directory)."""
    from estiba.snapshots.archive import tar_reader
    from estiba.snapshots.copyio import tar_path
    from estiba.snapshots.inroot import Root

    stripped = source_path.rstrip("/")
    if source_path.endswith("/.") or source_path == ".":
        stripped = source_path[:-2] or "/" if source_path.endswith("/.") else "."
    if follow:
        stripped = os.path.realpath(stripped)
    parent = os.path.dirname(os.path.abspath(stripped)) or "/"
    name = os.path.basename(os.path.abspath(stripped))
    root = Root(parent if name else "/")
    rebase = rename or name
    if rename == ".":
        rebase = ""
    return tar_reader(tar_path(root, name, rebase))
