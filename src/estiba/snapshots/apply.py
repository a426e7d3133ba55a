"""Unpacking one layer tar into a directory, safely and in one streaming pass, while
computing its diff_id (the sha256 of the uncompressed tar).

By default the directory is an overlay upper layer: OCI whiteouts become overlay ones
(`.wh.name` -> a 0:0 character device `name`; `.wh..wh..opq` -> trusted.overlay.opaque=y)
and `lowers` (the layers below, top first) supply the merged view for resolving paths and
for the attributes of parent directories the tar leaves out. With `flatten=True` the
directory already holds the merged tree and whiteouts delete from it.

No entry writes outside the directory: absolute names, `..`, parents that are symlinks
climbing out and hardlinks to outside are refused with InvalidArgument naming the entry.
Absolute symlinks met in a parent path resolve inside the directory, as in a container.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import tarfile
from collections import deque
from pathlib import Path
from typing import Sequence

from estiba.errors import EstibaError, InvalidArgument, SystemFault
from estiba.snapshots._fs import remove_tree
from estiba.snapshots.compression import (
    CHUNK,
    DigestReader,
    Readable,
    decompression_errors,
    open_uncompressed,
)
from estiba.snapshots.lowers import (
    OPAQUE_MARKER,
    OPAQUE_XATTR,
    OVERLAY_XATTR_PREFIX,
    WHITEOUT_PREFIX,
    LayerStack,
    is_whiteout,
    lstat_or_none,
)

log = logging.getLogger(__name__)

_XATTR_PAX_PREFIX = "SCHILY.xattr."
_MAX_SYMLINKS = 40


def apply_layer(
    stream: Readable,
    dest: str | os.PathLike[str],
    *,
    lowers: Sequence[str | os.PathLike[str]] = (),
    flatten: bool = False,
) -> str:
    """Unpack the layer tar `stream` (gzip, zstd, bzip2, xz or plain) into `dest`; return
    its diff_id ("sha256:..."). A failure leaves `dest` partly written: discard it."""
    reader = DigestReader(open_uncompressed(stream))
    applier = _Applier(Path(dest), lowers, flatten)
    try:
        archive = tarfile.open(fileobj=reader, mode="r|", errorlevel=2)
        with archive:
            while (member := archive.next()) is not None:
                applier.apply(member, archive)
                archive.members.clear()  # stream mode: keep memory flat on huge layers
        reader.drain()
    except tarfile.TarError as exc:
        raise InvalidArgument(f"layer is not a valid tar: {exc}") from exc
    except decompression_errors() as exc:
        raise InvalidArgument(f"layer cannot be decompressed: {exc}") from exc
    applier.finish()
    return reader.digest


def clean_name(name: str, *, entry: str | None = None) -> list[str]:
    """The components of a tar entry name (or of the hardlink target of `entry`);
    InvalidArgument for names that could escape."""
    where = f"layer entry {name}" if entry is None else f"layer entry {entry}: link target {name}"
    if name.startswith("/"):
        raise InvalidArgument(f"{where}: absolute paths are not allowed")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidArgument(f"{where}: '..' is not allowed")
    return parts


class _Applier:
    """The state of one unpack: destination, lower layers and deferred directory times."""

    def __init__(self, dest: Path, lowers: Sequence[str | os.PathLike[str]], flatten: bool) -> None:
        if not dest.is_dir():
            raise InvalidArgument(f"layer destination {dest} is not a directory")
        self.dest = dest
        self.flatten = flatten
        self.lowers = LayerStack(lowers) if lowers and not flatten else None
        self.privileged = os.geteuid() == 0
        self.opaque: set[str] = set()  # directories of dest this layer made opaque
        self.added: set[str] = set()  # entries this layer wrote (flatten: whiteouts skip them)
        self.dir_times: list[tuple[str, int, int]] = []

    # --- one entry --------------------------------------------------------------------

    def apply(self, member: tarfile.TarInfo, archive: tarfile.TarFile) -> None:
        name = member.name
        parts = clean_name(name)
        if not parts:
            return  # the root itself: its attributes belong to the snapshot
        base = parts[-1]
        meta = WHITEOUT_PREFIX + WHITEOUT_PREFIX
        in_meta_dir = any(p.startswith(meta) for p in parts[:-1])
        if in_meta_dir or (base.startswith(meta) and base != OPAQUE_MARKER):
            return  # AUFS bookkeeping (.wh..wh.plnk and friends)
        try:
            if base == OPAQUE_MARKER:
                self._opaque(self._parent(parts[:-1], name), name)
            elif base.startswith(WHITEOUT_PREFIX):
                target = base[len(WHITEOUT_PREFIX) :]
                if target in ("", ".", ".."):
                    raise InvalidArgument(f"layer entry {name}: invalid whiteout")
                self._whiteout(self._parent(parts[:-1], name) + [target], name)
            else:
                rel = "/".join(self._parent(parts[:-1], name) + [base])
                self._write(rel, member, archive)
                if self.flatten:
                    self.added.add(rel)
        except EstibaError:
            raise
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise SystemFault(f"layer entry {name}: {reason}") from exc

    def _write(self, rel: str, member: tarfile.TarInfo, archive: tarfile.TarFile) -> None:
        path = self.dest / rel
        existing = lstat_or_none(path)
        if existing is not None and not (stat.S_ISDIR(existing.st_mode) and member.isdir()):
            remove_tree(path)
        if member.isdir():
            if existing is None or not stat.S_ISDIR(existing.st_mode):
                os.mkdir(path, 0o700)
            self._attributes(path, member)
            self.dir_times.append((rel, *_times(member)))
        elif member.isreg():
            self._regular(path, member, archive)
        elif member.issym():
            os.symlink(member.linkname, path)
            self._attributes(path, member, symlink=True)
        elif member.islnk():
            os.link(self._hardlink_source(member), path, follow_symlinks=False)
        elif member.ischr() or member.isblk():
            if not self.privileged:
                log.warning("layer entry %s: device nodes need root; skipped", member.name)
                return
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            os.mknod(path, kind | 0o600, os.makedev(member.devmajor, member.devminor))
            self._attributes(path, member)
        elif member.isfifo():
            os.mkfifo(path, 0o600)
            self._attributes(path, member)
        else:
            raise InvalidArgument(f"layer entry {member.name}: unsupported type {member.type!r}")

    def _regular(self, path: Path, member: tarfile.TarInfo, archive: tarfile.TarFile) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "wb") as out:
            source = archive.extractfile(member)
            if source is not None:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
            out.flush()
            self._attributes(fd, member)

    def _hardlink_source(self, member: tarfile.TarInfo) -> Path:
        parts = clean_name(member.linkname, entry=member.name)
        if not parts:
            raise InvalidArgument(f"layer entry {member.name}: hardlink to the root")
        rel = "/".join(self._parent(parts[:-1], member.name) + [parts[-1]])
        source = self.dest / rel
        st = lstat_or_none(source)
        if st is None or is_whiteout(st):
            raise InvalidArgument(
                f"layer entry {member.name}: hardlink target {member.linkname} is not in this layer"
            )
        if stat.S_ISDIR(st.st_mode):
            raise InvalidArgument(f"layer entry {member.name}: hardlink to a directory")
        return source

    # --- whiteouts ----------------------------------------------------------------------

    def _whiteout(self, parts: list[str], name: str) -> None:
        rel = "/".join(parts)
        path = self.dest / rel
        if self.flatten:
            if rel not in self.added:  # whiteouts hide lower layers only
                remove_tree(path)
            return
        if lstat_or_none(path) is not None:
            remove_tree(path)
        os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))

    def _opaque(self, parts: list[str], name: str) -> None:
        rel = "/".join(parts)
        if self.flatten:
            self._clear_lower_entries(rel)
            return
        if not parts:
            raise InvalidArgument(f"layer entry {name}: the root cannot be opaque")
        os.setxattr(self.dest / rel, OPAQUE_XATTR, b"y", follow_symlinks=False)
        self.opaque.add(rel)

    def _clear_lower_entries(self, rel: str) -> None:
        """Flatten mode: delete what lower layers put in `rel`, keep what this layer wrote."""
        directory = self.dest / rel
        for entry in os.scandir(directory):
            child = f"{rel}/{entry.name}" if rel else entry.name
            if child not in self.added:
                remove_tree(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                self._clear_lower_entries(child)

    # --- paths --------------------------------------------------------------------------

    def _parent(self, parts: list[str], name: str) -> list[str]:
        """Resolve a parent path in the merged view, following symlinks without leaving the
        root, and create the directories missing from dest; return its real components."""
        resolved: list[str] = []
        pending = deque(parts)
        hops = 0
        while pending:
            part = pending.popleft()
            if part in ("", "."):
                continue
            if part == "..":
                if not resolved:
                    raise InvalidArgument(
                        f"layer entry {name}: a symlink in its path leads outside the root"
                    )
                resolved.pop()
                continue
            found = self._lookup("/".join([*resolved, part]))
            if found is None or stat.S_ISDIR(found[1].st_mode):
                resolved.append(part)
            elif stat.S_ISLNK(found[1].st_mode):
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise InvalidArgument(f"layer entry {name}: too many levels of symlinks")
                target = os.readlink(found[0])
                if target.startswith("/"):
                    resolved = []
                pending.extendleft(reversed(target.split("/")))
            else:
                where = "/".join([*resolved, part])
                raise InvalidArgument(f"layer entry {name}: {where} is not a directory")
        self._make_parents(resolved, name)
        return resolved

    def _lookup(self, rel: str) -> tuple[Path, os.stat_result] | None:
        """What the merged tree (dest over the lowers) holds at `rel`, without following it."""
        path = self.dest / rel
        st = lstat_or_none(path)
        if st is not None:
            return None if is_whiteout(st) else (path, st)
        if self.lowers is None or any(rel.startswith(d + "/") for d in self.opaque):
            return None
        found = self.lowers.lookup(rel)
        return None if found is None else (found[0] / rel, found[1])

    def _make_parents(self, parts: list[str], name: str) -> None:
        for depth in range(1, len(parts) + 1):
            rel = "/".join(parts[:depth])
            st = lstat_or_none(self.dest / rel)
            if st is not None:
                if not stat.S_ISDIR(st.st_mode):
                    raise InvalidArgument(
                        f"layer entry {name}: {rel} was deleted or replaced in this layer"
                    )
                continue
            lower = self._lookup(rel)
            os.mkdir(self.dest / rel, 0o755)
            if self.flatten:
                self.added.add(rel)
            if lower is not None:  # keep the lower directory's owner, mode and time on top
                st = lower[1]
                if self.privileged:
                    os.chown(self.dest / rel, st.st_uid, st.st_gid)
                os.chmod(self.dest / rel, stat.S_IMODE(st.st_mode))
                self.dir_times.append((rel, st.st_atime_ns, st.st_mtime_ns))

    # --- attributes ---------------------------------------------------------------------

    def _attributes(
        self, target: Path | int, member: tarfile.TarInfo, *, symlink: bool = False
    ) -> None:
        """Owner, then mode (chown clears set-id bits), then xattrs; times for non-dirs."""
        follow = not symlink
        if self.privileged:
            os.chown(target, member.uid, member.gid, follow_symlinks=follow)
        if not symlink:
            os.chmod(target, member.mode & 0o7777)
        for key, value in member.pax_headers.items():
            if key.startswith(_XATTR_PAX_PREFIX):
                self._xattr(target, member, key[len(_XATTR_PAX_PREFIX) :], value, follow)
        if not member.isdir():
            atime, mtime = _times(member)
            os.utime(target, ns=(atime, mtime), follow_symlinks=follow)

    def _xattr(
        self, target: Path | int, member: tarfile.TarInfo, key: str, value: str, follow: bool
    ) -> None:
        if key.startswith(OVERLAY_XATTR_PREFIX):
            return  # overlay's own markers come only from whiteout entries, never from a tar
        try:
            raw = value.encode("utf-8", "surrogateescape")
            os.setxattr(target, key, raw, follow_symlinks=follow)
        except OSError as exc:
            if exc.errno == errno.ENOTSUP or (exc.errno == errno.EPERM and not self.privileged):
                log.debug("layer entry %s: xattr %s not set: %s", member.name, key, exc.strerror)
                return
            raise

    def finish(self) -> None:
        """Directory times last, deepest first: writing into a directory changes its mtime."""
        for rel, atime, mtime in reversed(self.dir_times):
            try:
                os.utime(self.dest / rel, ns=(atime, mtime), follow_symlinks=False)
            except FileNotFoundError:
                pass


def _times(member: tarfile.TarInfo) -> tuple[int, int]:
    mtime = int(member.mtime * 1_000_000_000)
    atime_header = member.pax_headers.get("atime")
    atime = int(float(atime_header) * 1_000_000_000) if atime_header else mtime
    return atime, mtime
