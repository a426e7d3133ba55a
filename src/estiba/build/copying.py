"""COPY and ADD: which files a step writes (`collect`), their cache digest, and the write
itself into a mounted root (`write_into`), every path resolved inside that root.

Docker's rules: a directory source copies its contents; a file lands at the destination,
or under it when the destination ends with `/`, is an existing directory, or there are
several sources; missing parents are made (0755, root); every file belongs to 0:0 unless
--chown; --chmod sets the mode of what is copied. ADD also fetches URLs (mode 0600) and
unpacks local tar archives (plain, gzip, bzip2, xz) into the destination.
"""

from __future__ import annotations

import fnmatch
import io
import os
import posixpath
import stat
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from estiba.build.cache import FileRecord, content_digest, files_digest
from estiba.build.context import BuildContext, ContextEntry, walk_tree
from estiba.build.instructions import CopySpec
from estiba.errors import InvalidArgument, NotFound

__all__ = ["CopyItem", "collect_context", "collect_root", "digest_items", "write_into", "is_tar_file"]


@dataclass
class CopyItem:
    """One source: a file or symlink (`entry`), a directory with what it holds, inline
    text (a heredoc), or an archive ADD unpacks."""

    kind: str  # "file", "dir", "text", "archive"
    name: str  # the basename a file gets under a directory destination
    entry: ContextEntry | None = None
    children: list[ContextEntry] = field(default_factory=list)
    text: bytes = b""


def is_tar_file(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")):
        try:
            with tarfile.open(path, "r:*") as tar:
                return tar.next() is not None
        except (tarfile.TarError, OSError, EOFError):
            return False
    return len(head) >= 262 and head[257:262] == b"ustar"


def collect_context(
    spec: CopySpec, context: BuildContext, env: Mapping[str, str], fetch: Callable[[str], Path] | None = None
) -> list[CopyItem]:
    """The items a COPY/ADD takes from the build context (and, for ADD, from URLs)."""
    items: list[CopyItem] = []
    for source in spec.sources:
        if source.startswith("<<"):
            name = source[2:]
            content, expand = (spec.heredocs or {}).get(name, ("", False))
            if expand:
                content = _substitute(content, env)
            items.append(CopyItem("text", name, text=content.encode()))
            continue
        if spec.keyword == "ADD" and source.startswith(("http://", "https://")):
            if fetch is None:
                raise InvalidArgument(f"cannot fetch {source}")
            path = fetch(source)
            name = posixpath.basename(source.split("?", 1)[0].rstrip("/")) or "index.html"
            st = os.lstat(path)
            items.append(CopyItem("file", name, ContextEntry(name, path, st)))
            continue
        for entry in context.sources(source):
            name = posixpath.basename(entry.rel) if entry.rel else ""
            if stat.S_ISDIR(entry.st.st_mode):
                items.append(CopyItem("dir", name, entry, list(context.entries_below(entry))))
            elif spec.keyword == "ADD" and stat.S_ISREG(entry.st.st_mode) and is_tar_file(entry.path):
                items.append(CopyItem("archive", name, entry))
            else:
                items.append(CopyItem("file", name, entry))
    return items


def _substitute(text: str, env: Mapping[str, str]) -> str:
    """A heredoc's variables (`$NAME`, `${NAME}`) replaced; nothing else is touched."""
    import re

    return re.sub(
        r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))",
        lambda m: env.get(m.group(1) or m.group(2), ""),
        text,
    )


def collect_root(spec: CopySpec, root: Path) -> list[CopyItem]:
    """The items a COPY --from takes from another stage's or image's root (mounted)."""
    from estiba.snapshots.inroot import Root

    items: list[CopyItem] = []
    with Root(root) as inside:
        for source in spec.sources:
            candidates = [source]
            if any(ch in source for ch in "*?["):
                directory, pattern = posixpath.split("/" + source.lstrip("/"))
                real_dir = inside.resolve(directory or "/", follow=True)
                try:
                    names = sorted(os.listdir(root / real_dir.lstrip("/")))
                except FileNotFoundError:
                    names = []
                candidates = [posixpath.join(directory, n) for n in names if fnmatch.fnmatchcase(n, pattern)]
                if not candidates:
                    raise NotFound(f"no source files were specified matching {source}")
            for candidate in candidates:
                try:
                    real = inside.resolve("/" + candidate.lstrip("/"), follow=True).lstrip("/")
                except NotFound:
                    raise NotFound(f"{source}: not found") from None
                path = root / real if real else root
                if not os.path.lexists(path):
                    raise NotFound(f"{source}: not found")
                st = os.lstat(path)
                entry = ContextEntry(real, path, st)
                name = posixpath.basename(candidate.rstrip("/"))
                if stat.S_ISDIR(st.st_mode):
                    children = [
                        ContextEntry(c.rel[len(real) + 1 :] if real else c.rel, c.path, c.st)
                        for c in walk_tree(root, real)
                    ]
                    items.append(CopyItem("dir", name, entry, children))
                else:
                    items.append(CopyItem("file", name, entry))
    return items


def _record(name: str, st: os.stat_result, path: Path | None, spec: CopySpec) -> FileRecord:
    mode = spec.chmod if spec.chmod is not None else stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        return (name, mode, 0, 0, "d", "")
    if stat.S_ISLNK(st.st_mode):
        return (name, mode, 0, 0, "l", os.readlink(path) if path else "")
    return (name, mode, 0, 0, "f", content_digest(path) if path else "")


def digest_items(items: list[CopyItem], spec: CopySpec) -> str:
    """The cache digest of what the items would write: names, modes and contents."""
    records: list[FileRecord] = []
    for item in items:
        if item.kind == "text":
            import hashlib

            records.append((item.name, 0o644, 0, 0, "t", hashlib.sha256(item.text).hexdigest()))
        elif item.kind == "dir":
            assert item.entry is not None
            records.append(_record(item.name + "/", item.entry.st, item.entry.path, spec))
            for child in item.children:
                records.append(_record(item.name + "/" + child.rel, child.st, child.path, spec))
        else:
            assert item.entry is not None
            kind = "a" if item.kind == "archive" else ""
            record = _record(item.name, item.entry.st, item.entry.path, spec)
            records.append((*record[:4], record[4] + kind, record[5]))
    return files_digest(records)


def write_into(root: Path, spec: CopySpec, items: list[CopyItem], owner: tuple[int, int] | None) -> None:
    """Write the items at the destination inside the mounted `root`."""
    from estiba.snapshots.copyio import ExtractOptions, extract_tar
    from estiba.snapshots.inroot import Root

    uid, gid = owner or (0, 0)
    with Root(root) as inside:
        try:
            existing = inside.lstat(inside.resolve(spec.dest, follow=True))
            dest_is_dir = spec.dest_is_dir or stat.S_ISDIR(existing.st_mode)
        except NotFound:
            dest_is_dir = spec.dest_is_dir
        if dest_is_dir or any(i.kind in ("dir", "archive") for i in items):
            holder = inside.makedirs(spec.dest)
            os.close(holder)
        with tempfile.TemporaryFile() as spool:
            with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for item in items:
                    if item.kind == "archive":
                        continue
                    if item.kind == "dir":
                        for child in item.children:
                            _add(tar, posixpath.join(spec.dest, child.rel), child, spec, uid, gid)
                    elif item.kind == "text":
                        target = posixpath.join(spec.dest, item.name) if dest_is_dir else spec.dest
                        info = tarfile.TarInfo(target.lstrip("/"))
                        info.size, info.uid, info.gid = len(item.text), uid, gid
                        info.mode = spec.chmod if spec.chmod is not None else 0o644
                        tar.addfile(info, io.BytesIO(item.text))
                    else:
                        assert item.entry is not None
                        target = posixpath.join(spec.dest, item.name) if dest_is_dir else spec.dest
                        _add(tar, target, item.entry, spec, uid, gid)
            spool.seek(0)
            extract_tar(inside, "/", spool, ExtractOptions(owner=owner))
        for item in items:
            if item.kind == "archive":
                assert item.entry is not None
                with open(item.entry.path, "rb") as archive:
                    extract_tar(inside, spec.dest, archive)


def _add(tar: tarfile.TarFile, target: str, entry: ContextEntry, spec: CopySpec, uid: int, gid: int) -> None:
    info = tar.gettarinfo(str(entry.path), arcname=target.lstrip("/"))
    if info.islnk():  # a hardlink inside the sources: copy the file itself
        info.type = tarfile.REGTYPE
        info.linkname = ""
        info.size = entry.st.st_size
    info.uid, info.gid = uid, gid
    info.uname = info.gname = ""
    if spec.chmod is not None:
        info.mode = spec.chmod
    if info.isreg():
        with open(entry.path, "rb") as data:
            tar.addfile(info, data)
    else:
        tar.addfile(info)
