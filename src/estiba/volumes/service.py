"""Volumes for the daemon: the store's rows and the driver's directories kept together, and
the part of a container's life that concerns them.

    create / remove / prune / clone / rename / export / import     the `volume` commands
    replace_from(name, source)     a volume's data becomes a copy of another's (compose's
                                   project snapshots, POST /estiba/volumes/{name}/replace)
    attach(container, requests)    at create: volumes made (anonymous ones named by a
                                   random id), bind sources checked, the mounts recorded
    container_mounts(container)    at start: device volumes mounted, a new volume filled
                                   from the image (copy-up), the spec's mounts returned
    stopped(container)             at exit: device volumes no running container uses are
                                   unmounted
    release(container, anonymous)  at removal: the mounts forgotten, anonymous volumes
                                   removed with `rm -v` (never named ones)

Blocking (SQLite, mounts, copies): the daemon calls it from worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import subprocess
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

from estiba.errors import Conflict, InvalidArgument, NotFound, SystemFault
from estiba.volumes.base import Volume
from estiba.volumes.binds import MountRequest, mount_point, oci_mount
from estiba.volumes.local import LocalDriver
from estiba.volumes.options import LocalOptions, VolumeFilters, validate_volume_name
from estiba.volumes.store import VolumeStore

__all__ = ["VolumeService"]

log = logging.getLogger(__name__)


def _now() -> str:
    from estiba.engine.store import rfc3339_now

    return rfc3339_now()


class VolumeService:
    """Volumes over one store and the local driver. `running(container_id)` tells whether a
    container runs (device volumes stay mounted while one that uses them does)."""

    def __init__(
        self,
        store: VolumeStore,
        driver: LocalDriver,
        *,
        events: Any = None,
        running: Callable[[str], bool] = lambda container_id: False,
    ) -> None:
        self.store = store
        self.driver = driver
        self.events = events
        self.running = running

    # --- the volume commands --------------------------------------------------------

    def create(
        self,
        name: str = "",
        *,
        driver: str = "local",
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
        anonymous: bool = False,
    ) -> Volume:
        """A new volume; an existing one of the same name is returned as it is (dockerd)."""
        if driver not in ("", "local"):
            raise NotFound(f"error looking up volume plugin {driver}: plugin \"{driver}\" not found")
        if name:
            validate_volume_name(name)
            with contextlib.suppress(NotFound):
                return self.store.get(name)
        else:
            name, anonymous = secrets.token_hex(32), True
        LocalOptions.parse(options or {})
        mountpoint = self.driver.create(name, options or {})
        volume = Volume(
            name=name, driver="local", mountpoint=str(mountpoint), created=_now(),
            labels=dict(labels or {}), options=dict(options or {}), anonymous=anonymous,
        )  # fmt: skip
        try:
            self.store.add(volume)
        except BaseException:
            self.driver.remove(volume)
            raise
        self._publish("create", name)
        return volume

    def get(self, name: str) -> Volume:
        return self.store.get(name)

    def list(self, filters: VolumeFilters = VolumeFilters()) -> list[Volume]:
        counts = self.store.use_counts()
        return [v for v in self.store.list() if filters.matches(v, in_use=counts.get(v.name, 0) > 0)]

    def remove(self, name: str, *, force: bool = False) -> None:
        try:
            volume = self.store.get(name)
        except NotFound:
            if force:
                return
            raise
        self.store.remove(name)  # Conflict while in use, force or not (dockerd)
        try:
            self.driver.remove(volume)
        except (OSError, Conflict) as exc:
            log.warning("removing volume %s: %s", name, exc)
        self._publish("destroy", name)

    def prune(self, filters: VolumeFilters) -> tuple[list[str], int]:
        """Unused volumes matching the filters: anonymous ones, every one with `all`."""
        deleted, reclaimed = [], 0
        for volume in self.list(VolumeFilters(dangling=True, labels=filters.labels, not_labels=filters.not_labels)):
            if not filters.all and not volume.anonymous:
                continue
            size = max(self.driver.usage(volume), 0)
            try:
                self.remove(volume.name)
            except (Conflict, NotFound):
                continue  # taken meanwhile
            deleted.append(volume.name)
            reclaimed += size
        self._publish("prune", "", reclaimed=str(reclaimed))
        return deleted, reclaimed

    def clone(self, source: str, new: str) -> Volume:
        """A new volume `new` with a copy of `source`'s data, labels and options."""
        original = self.store.get(source)
        validate_volume_name(new)
        with contextlib.suppress(NotFound):
            self.store.get(new)
            raise Conflict(f"volume {new} already exists")
        with ExitStack() as undo:
            volume = self.create(new, labels=original.labels, options=original.options)
            undo.callback(self.remove, new, force=True)
            with self._available(original), self._available(volume):
                copy_tree(Path(original.mountpoint), Path(volume.mountpoint))
            undo.pop_all()
        return volume

    def rename(self, old: str, new: str) -> Volume:
        volume = self.store.get(old)
        validate_volume_name(new)
        if self.store.users(old):
            raise Conflict(f"rename {old}: volume is in use - [{', '.join(self.store.users(old))}]")
        with contextlib.suppress(NotFound):
            self.store.get(new)
            raise Conflict(f"volume {new} already exists")
        self.driver.unmount(volume)
        mountpoint = self.driver.rename(old, new)
        try:
            renamed = self.store.rename(old, new, str(mountpoint))
        except BaseException:
            self.driver.rename(new, old)
            raise
        self._publish("rename", new, oldName=old)
        return renamed

    @contextlib.contextmanager
    def _available(self, volume: Volume) -> Any:
        """A device volume mounted for the length of a block (clone, export, import)."""
        mounted = LocalOptions.parse(volume.options).needs_mount and not os.path.ismount(volume.mountpoint)
        self.driver.mount(volume)
        try:
            yield Path(volume.mountpoint)
        finally:
            if mounted:
                self.driver.unmount(volume)

    def export(self, name: str, out: BinaryIO) -> None:
        """The volume's data as a tar written to `out`."""
        from estiba.snapshots.archive import tar_reader
        from estiba.snapshots.copyio import tar_path
        from estiba.snapshots.inroot import Root

        volume = self.store.get(name)
        with self._available(volume) as path, Root(path) as root:
            reader = tar_reader(tar_path(root, "/", ""))
            with reader:
                while chunk := reader.read(1 << 16):
                    out.write(chunk)

    def import_(self, name: str, stream: BinaryIO, *, create: bool = True) -> Volume:
        """Unpack a tar into the volume (made when missing and `create`); nothing lands
        outside it whatever the archive's names or the volume's symlinks."""
        from estiba.snapshots.copyio import extract_tar
        from estiba.snapshots.inroot import Root

        try:
            volume = self.store.get(name)
        except NotFound:
            if not create:
                raise
            volume = self.create(name)
        with self._available(volume) as path, Root(path) as root:
            extract_tar(root, "/", stream)
        return volume

    def disk_usage(self) -> list[dict[str, Any]]:
        """The Volumes of `system df`: every volume with UsageData (Size, RefCount)."""
        counts = self.store.use_counts()
        documents = []
        for volume in self.store.list():
            document = volume_document(volume)
            document["UsageData"] = {"Size": self.driver.usage(volume), "RefCount": counts.get(volume.name, 0)}
            documents.append(document)
        return documents

    def mountpoint(self, name: str) -> Path:
        return Path(self.store.get(name).mountpoint)

    def replace_contents(self, name: str, source: Path, copier: Callable[[Path, Path], None]) -> None:
        """The volume's data becomes a copy of `source` (a container snapshot's restore);
        a missing volume is made again."""
        try:
            volume = self.store.get(name)
        except NotFound:
            volume = self.create(name)
        with self._available(volume) as path:
            for entry in os.listdir(path):
                _remove(path / entry)
            copier(source, path)

    def replace_from(self, name: str, source: str) -> Volume:
        """Volume `name`'s data becomes a copy of volume `source`'s (compose's project
        snapshots, both ways). Refused while a running container uses `name`. The copy is
        made in a staging directory inside the volume first, so a failed copy leaves the
        old data as it was."""
        volume = self.store.get(name)
        original = self.store.get(source)
        if name == source:
            raise InvalidArgument(f"cannot replace volume {name}'s data with its own")
        busy = [user for user in self.store.users(name) if self.running(user)]
        if busy:
            raise Conflict(
                f"volume {name} is in use by running containers - [{', '.join(busy)}]",
                hint="stop them first",
            )
        with self._available(original) as source_path, self._available(volume) as path:
            staging = path / f".estiba-replace-{secrets.token_hex(8)}"
            staging.mkdir(mode=0o700)
            try:
                copy_tree(source_path, staging)
            except BaseException:
                _remove(staging)
                raise
            for entry in os.listdir(path):
                if entry != staging.name:
                    _remove(path / entry)
            for entry in os.listdir(staging):
                os.rename(staging / entry, path / entry)
            os.chmod(path, os.stat(source_path).st_mode & 0o7777)
            os.chown(path, os.stat(source_path).st_uid, os.stat(source_path).st_gid)
            staging.rmdir()
        self._publish("replace", name, source=source)
        return volume

    # --- containers -------------------------------------------------------------------

    def attach(self, container_id: str, requests: Iterable[MountRequest]) -> None:
        """At create: make the volumes the requests need and record the mounts; undone
        on failure."""
        rows: list[tuple[str | None, dict[str, Any]]] = []
        with ExitStack() as undo:
            for request in requests:
                spec = request.to_json()
                if request.kind == "bind":
                    _check_bind_source(request)
                    rows.append((None, spec))
                    continue
                existed = bool(request.source)
                if existed:
                    try:
                        self.store.get(request.source)
                    except NotFound:
                        existed = False
                volume = self.create(request.source, labels=request.labels, options=request.driver_options)
                if not existed:
                    undo.callback(self._discard, volume.name)
                spec.update(source=volume.name, copy_pending=not request.no_copy)
                rows.append((volume.name, spec))
            self.store.set_mounts(container_id, rows)
            undo.pop_all()

    def _discard(self, name: str) -> None:
        with contextlib.suppress(NotFound, Conflict):
            self.remove(name)

    def requests_of(self, container_id: str) -> list[MountRequest]:
        """A container's mounts as requests naming their volumes (for --volumes-from)."""
        return [MountRequest.from_json({**spec, "from_container": container_id})
                for spec in self.store.mounts(container_id)]

    def names_used_by(self, container_id: str) -> list[str]:
        return [spec["source"] for spec in self.store.mounts(container_id) if spec["kind"] == "volume"]

    def container_mounts(self, container_id: str, rootfs: Path | None) -> list[dict[str, Any]]:
        """At start: the spec's mounts; device volumes mounted; a new volume filled from the
        container's root (mounted at `rootfs`) unless nocopy."""
        specs = self.store.mounts(container_id)
        result = []
        changed = False
        for spec in specs:
            request = MountRequest.from_json(spec)
            if request.kind == "bind":
                _check_bind_source(request)
                result.append(oci_mount(request, request.source))
                continue
            volume = self.store.get(request.source)
            self.driver.mount(volume)
            if spec.get("copy_pending") and rootfs is not None:
                copy_up(rootfs, request.target, Path(volume.mountpoint))
                spec["copy_pending"] = False
                changed = True
            self._publish("mount", volume.name, container=container_id, destination=request.target,
                          **{"read/write": str(not request.read_only).lower()})
            result.append(oci_mount(request, volume.mountpoint))
        if changed:
            self.store.set_mounts(container_id, [(s["source"] if s["kind"] == "volume" else None, s) for s in specs])
        return result

    def inspect_mounts(self, container_id: str) -> list[dict[str, Any]]:
        documents = []
        for spec in self.store.mounts(container_id):
            request = MountRequest.from_json(spec)
            if request.kind == "volume":
                with contextlib.suppress(NotFound):
                    volume = self.store.get(request.source)
                    documents.append(mount_point(request, volume.mountpoint, volume.name))
            else:
                documents.append(mount_point(request, request.source))
        return documents

    def stopped(self, container_id: str) -> None:
        """At exit: unmount device volumes no other running container uses."""
        for name in self.names_used_by(container_id):
            self._unmount_unused(name, container_id)

    def _unmount_unused(self, name: str, leaving: str) -> None:
        try:
            volume = self.store.get(name)
        except NotFound:
            return
        if not LocalOptions.parse(volume.options).needs_mount:
            return
        if any(user != leaving and self.running(user) for user in self.store.users(name)):
            return
        with contextlib.suppress(Conflict, OSError):
            self.driver.unmount(volume)
            self._publish("unmount", name, container=leaving)

    def release(self, container_id: str, *, remove_anonymous: bool) -> None:
        """At removal: forget the container's mounts; with `remove_anonymous` (rm -v,
        --rm) its anonymous volumes go too, unless another container uses them."""
        names = self.store.drop_mounts(container_id)
        for name in names:
            self._unmount_unused(name, container_id)
            if not remove_anonymous:
                continue
            with contextlib.suppress(NotFound):
                if self.store.get(name).anonymous and not self.store.users(name):
                    with contextlib.suppress(Conflict):
                        self.remove(name)

    def copy_for(
        self, source: str, container_id: str, host_config: dict[str, Any], *, include_volumes: bool, name: str
    ) -> dict[str, Any]:
        """The mounts of a copy of container `source`: named volumes shared, anonymous ones
        new; with `include_volumes` every volume is cloned (named ones as NAME-VOLUME)
        and the copy's Binds name the clones. Returns the copy's HostConfig."""
        host_config = dict(host_config)
        requests = []
        renames: dict[str, str] = {}
        for request in self.requests_of(source):
            request = MountRequest.from_json({**request.to_json(), "from_container": ""})
            if request.kind == "volume":
                volume = self.store.get(request.source)
                if include_volumes:
                    clone_name = secrets.token_hex(32) if volume.anonymous else _free_name(self.store, f"{name}-{volume.name}")
                    clone = self.clone(volume.name, clone_name)
                    if volume.anonymous:
                        self._mark_anonymous(clone)
                    renames[volume.name] = clone.name
                    request = MountRequest.from_json({**request.to_json(), "source": clone.name, "no_copy": True})
                elif volume.anonymous:
                    request = MountRequest.from_json({**request.to_json(), "source": ""})
            requests.append(request)
        if renames and host_config.get("Binds"):
            host_config["Binds"] = [_renamed_bind(b, renames) for b in host_config["Binds"]]
        self.attach(container_id, requests)
        return host_config

    def _mark_anonymous(self, volume: Volume) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE volumes SET anonymous = 1 WHERE name = ?", (volume.name,))

    def cleanup(self) -> None:
        """At daemon start: directories no volume owns (a crash's leftovers) go."""
        names = {v.name for v in self.store.list()}
        for directory in self.driver.orphans(names):
            self.driver.discard(directory)

    def _publish(self, action: str, name: str, **attributes: str) -> None:
        if self.events is not None:
            self.events.publish("volume", action, name, {"driver": "local", **attributes})


def volume_document(volume: Volume) -> dict[str, Any]:
    """The spec's Volume object."""
    return {
        "CreatedAt": volume.created,
        "Driver": volume.driver,
        "Labels": dict(volume.labels) or None,
        "Mountpoint": volume.mountpoint,
        "Name": volume.name,
        "Options": dict(volume.options) or None,
        "Scope": "local",
    }


def _free_name(store: VolumeStore, wanted: str) -> str:
    candidate, index = wanted, 1
    while True:
        try:
            store.get(candidate)
        except NotFound:
            return candidate
        candidate, index = f"{wanted}-{index}", index + 1


def _renamed_bind(spec: str, renames: Mapping[str, str]) -> str:
    source, sep, rest = spec.partition(":")
    return f"{renames.get(source, source)}{sep}{rest}"


def _check_bind_source(request: MountRequest) -> None:
    if os.path.exists(request.source):
        return
    if not request.create_source:
        raise InvalidArgument(
            f'invalid mount config for type "bind": bind source path does not exist: {request.source}'
        )
    try:
        os.makedirs(request.source, mode=0o755, exist_ok=True)
    except OSError as exc:
        raise InvalidArgument(f"error while creating mount source path '{request.source}': {exc.strerror}") from exc


def copy_tree(source: Path, target: Path) -> None:
    """Everything under `source` into `target` (owners, modes, links, xattrs kept)."""
    result = subprocess.run(["cp", "-a", "--reflink=auto", "--", f"{source}/.", str(target)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemFault(f"copying {source}: {result.stderr.strip() or result.returncode}")


def copy_up(rootfs: Path, target: str, volume: Path) -> None:
    """dockerd's copy-up: an empty volume gets what the image has at its mount point,
    resolved inside the container's root."""
    from estiba.snapshots.inroot import Root, fd_path

    if any(os.scandir(volume)):
        return
    with Root(rootfs) as root:
        try:
            fd = root.open(target, follow=True)
        except NotFound:
            return
        try:
            if not os.path.isdir(fd_path(fd)):
                return
            copy_tree(fd_path(fd), volume)
        finally:
            os.close(fd)


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
