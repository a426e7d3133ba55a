"""The build context: a directory the CLI packs into a tar, a tar the daemon unpacks.

    pack_context(dir, dockerfile)   the CLI's side: the tar to upload (.dockerignore'd
                                    files left out, as the docker CLI does; a Dockerfile
                                    outside the context or from stdin added under a
                                    generated name) and the Dockerfile's name inside it
    open_context(stream, workdir)   the daemon's side: the tar (plain or compressed)
                                    unpacked into a private directory, every path kept
                                    inside it; a body that is no tar is a Dockerfile alone
    BuildContext                    reading the Dockerfile and the sources of COPY/ADD,
                                    with the .dockerignore applied again
"""

from __future__ import annotations

import fnmatch
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from estiba.build.ignore import IgnoreMatcher
from estiba.build.packing import (
    DEFAULT_DOCKERFILE,
    ContextEntry,
    is_archive,
    matcher_for,
    pack_context,
    walk_tree,
)
from estiba.errors import InvalidArgument, NotFound

__all__ = [
    "BuildContext",
    "ContextEntry",
    "is_archive",
    "open_context",
    "pack_context",
    "walk_tree",
]


@dataclass
class BuildContext:
    """An unpacked context: where it is and which of its paths .dockerignore excludes."""

    root: Path
    matcher: IgnoreMatcher

    @classmethod
    def at(cls, root: Path) -> BuildContext:
        return cls(root, matcher_for(root))

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        for scratch in self.root.parent.glob(self.root.name + "-*"):
            shutil.rmtree(scratch, ignore_errors=True)

    def scratch_dir(self, what: str) -> Path:
        """A private directory beside the context (ADD's downloads), gone with it."""
        return Path(tempfile.mkdtemp(prefix=f"{self.root.name}-{what}-", dir=self.root.parent))

    def read_dockerfile(self, name: str) -> str:
        """The Dockerfile's text (it is read even when .dockerignore lists it)."""
        name = name or DEFAULT_DOCKERFILE
        path = self._inside(name)
        if not path.is_file() and name == DEFAULT_DOCKERFILE and (self.root / "dockerfile").is_file():
            path = self.root / "dockerfile"
        try:
            return path.read_text()
        except (FileNotFoundError, IsADirectoryError):
            raise InvalidArgument(
                f"Cannot locate specified Dockerfile: {name}", hint="give -f or add a Dockerfile"
            ) from None
        except UnicodeDecodeError as exc:
            raise InvalidArgument(f"the Dockerfile {name} is not UTF-8 text") from exc

    def _inside(self, name: str) -> Path:
        clean = os.path.normpath("/" + name).lstrip("/")
        return self.root / clean

    def sources(self, pattern: str) -> list[ContextEntry]:
        """The context entries a COPY/ADD source names: a path (a directory stands for
        itself) or a wildcard pattern; NotFound when nothing is there."""
        clean = os.path.normpath("/" + pattern).lstrip("/")
        if clean.startswith("..") or pattern.startswith("../"):
            raise NotFound(f"forbidden path outside the build context: {pattern}")
        if clean in ("", "."):
            return [ContextEntry("", self.root, os.lstat(self.root))]
        if any(ch in clean for ch in "*?["):
            found = [
                entry for entry in walk_tree(self.root, "", self.matcher)
                if fnmatch.fnmatchcase(entry.rel, clean) and _same_depth(entry.rel, clean)
            ]  # fmt: skip
            if not found:
                raise NotFound(f"no source files were specified matching {pattern}")
            return found
        path = self.root / clean
        # A path through a symlink in the context must stay in the context.
        real = Path(os.path.realpath(path.parent)) / path.name
        try:
            real.relative_to(self.root.resolve())
        except ValueError:
            raise NotFound(f"forbidden path outside the build context: {pattern}") from None
        if self.matcher.excluded(clean) or not os.path.lexists(path):
            raise NotFound(f"{pattern}: not found")
        return [ContextEntry(clean, real, os.lstat(real))]

    def entries_below(self, entry: ContextEntry) -> Iterator[ContextEntry]:
        """What a directory source holds, .dockerignore applied."""
        base = Path(os.path.relpath(entry.path, self.root)).as_posix() if entry.rel else ""
        for child in walk_tree(self.root, "" if base == "." else base, self.matcher):
            rel = child.rel[len(base) + 1 :] if base and base != "." else child.rel
            yield ContextEntry(rel, child.path, child.st)


def _same_depth(rel: str, pattern: str) -> bool:
    return rel.count("/") == pattern.count("/")


def open_context(stream: BinaryIO, workdir: Path) -> BuildContext:
    """Unpack an uploaded context (a tar, maybe compressed; else a Dockerfile alone) as it
    is read from `stream`: any reader, read once from start to end (an estiba.pipes.Pipe
    lets the daemon unpack while the upload is still arriving)."""
    from estiba.snapshots.copyio import extract_tar
    from estiba.snapshots.inroot import Root

    workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="build-", dir=workdir))
    try:
        head = _read_fully(stream, 512)
        if is_archive(head):
            compressed = head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"))
            with Root(root) as inside:
                extract_tar(inside, "/", _Rest(head, stream, pad=not compressed))
        elif head:
            (root / DEFAULT_DOCKERFILE).write_bytes(head + stream.read())
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return BuildContext.at(root)


def _read_fully(stream: BinaryIO, size: int) -> bytes:
    data = b""
    while len(data) < size and (chunk := stream.read(size - len(data))):
        data += chunk
    return data


class _Rest(io.RawIOBase):
    """The stream again from its start (`head` was read from it already). `pad`: end an
    uncompressed tar with block padding and the end-of-archive blocks, which the docker
    CLI's tar for `-f -` lacks (it ends right after its last file's data: Go's reader
    takes that, Python's does not) and a complete tar ignores after its end."""

    def __init__(self, head: bytes, stream: BinaryIO, *, pad: bool) -> None:
        self._pending, self._stream, self._pad, self._size = head, stream, pad, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._pending:
            data = self._pending if size < 0 else self._pending[:size]
            self._pending = self._pending[len(data):]
        else:
            data = self._stream.read(size)
            if not data and self._pad:
                self._pad = False
                self._pending = b"\0" * ((-self._size) % 512 + 1024)
                return self.read(size)
        self._size += len(data)
        return data
