"""Read a tar archive into a private spool so that its files can be opened by name, in any order.

Nothing in the archive is extracted to a path it names: regular files are copied into
numbered spool files and names (after following symlinks and hard links inside the
archive, never outside) map to them. So hostile names (`../x`, absolute paths, links out)
cannot touch the filesystem.
"""

from __future__ import annotations

import posixpath
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

from estiba.errors import InvalidArgument

_MAX_LINK_HOPS = 40


class ArchiveFiles:
    """The files of one archive; use as a context manager to remove the spool afterwards."""

    def __init__(self, stream: BinaryIO, *, tmpdir: str | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="estiba-archive-", dir=tmpdir))
        self._files: dict[str, Path] = {}
        self._links: dict[str, str] = {}
        try:
            self._spool(stream)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ArchiveFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def names(self) -> list[str]:
        return sorted(set(self._files) | set(self._links))

    def has(self, name: str) -> bool:
        try:
            self.path(name)
        except InvalidArgument:
            return False
        return True

    def path(self, name: str) -> Path:
        """The spool file holding `name`; InvalidArgument when the archive has no such file."""
        current = _normalise(name)
        for _ in range(_MAX_LINK_HOPS):
            if current in self._files:
                return self._files[current]
            if current not in self._links:
                raise InvalidArgument(f"invalid archive: no file {name!r} in it")
            current = self._links[current]
        raise InvalidArgument(f"invalid archive: too many links resolving {name!r}")

    def open(self, name: str) -> BinaryIO:
        return open(self.path(name), "rb")

    def size(self, name: str) -> int:
        return self.path(name).stat().st_size

    def read(self, name: str, *, limit: int = 8 << 20) -> bytes:
        if self.size(name) > limit:
            raise InvalidArgument(f"invalid archive: {name!r} is larger than {limit} bytes")
        return self.path(name).read_bytes()

    def _spool(self, stream: BinaryIO) -> None:
        try:
            with tarfile.open(fileobj=stream, mode="r|*") as tar:
                for index, member in enumerate(tar):
                    self._add(tar, index, member)
        except tarfile.TarError as exc:
            raise InvalidArgument(f"invalid archive: not a tar stream ({exc})") from exc
        except EOFError as exc:
            raise InvalidArgument("invalid archive: truncated") from exc

    def _add(self, tar: tarfile.TarFile, index: int, member: tarfile.TarInfo) -> None:
        name = _normalise(member.name)
        if member.isreg():
            spool = self._dir / str(index)
            source = tar.extractfile(member)
            assert source is not None
            with open(spool, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            self._files[name] = spool
            self._links.pop(name, None)
        elif member.issym():
            target = member.linkname
            base = "" if target.startswith("/") else posixpath.dirname(name)
            self._links[name] = _normalise(posixpath.join(base, target.lstrip("/")))
            self._files.pop(name, None)
        elif member.islnk():
            self._links[name] = _normalise(member.linkname)
            self._files.pop(name, None)


def _normalise(name: str) -> str:
    path = posixpath.normpath("/" + name.lstrip("/")).lstrip("/")
    if path in ("", "."):
        raise InvalidArgument(f"invalid archive: bad member name {name!r}")
    return path
