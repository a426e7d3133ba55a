"""LXD's snapshots and copies on any container, as a mixin of `EngineContainers`.

    snapshot create C [NAME]   the container's files (a frozen layer) and, with volumes,
                               their data, and its configuration, in the `SnapshotCatalog`
    snapshot restore C NAME    files and configuration back; a running container only
                               with force (stopped, restored, started again)
    container copy C[/S] NEW   a new stopped container with the same configuration and
                               files, a new id, name and hostname

The image's layers are shared, never copied, and so are the container's own files where
the kernel allows (see `estiba.snapshots.frozen`):

- a stopped container is snapshotted by freezing its writable layer in place (it becomes
  a read-only layer, the container gets a new empty one on top): no data is copied;
- a running container's overlay mount cannot change its upper directory, so it is paused
  and its upper directory (what it wrote since its last freeze or start) is copied into a
  new frozen layer beside it (cp's reflinks on btrfs and xfs, a copy on ext4), then resumed.
  Not hardlinks: the container writes its upper's files in place, into the snapshot too.
  Not a freeze at the next stop: the snapshot would hold the files of that later moment;
- a restore points the container at the snapshot's layer under a new empty upper, a copy
  stacks the new container on it (a stopped source is frozen first): both O(1).

A frozen layer goes when no snapshot names it and nothing stands on it (`collect`,
`sweep`). Snapshots from a catalog made before frozen layers (a copied `fs` directory)
are restored and copied by copying, as they were made.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from pathlib import Path
from typing import Any

from estiba.api.types import CreatedContainer, JSONObject
from estiba.daemon.container_volumes import ContainerVolumes
from estiba.engine.states import State
from estiba.errors import Conflict, InvalidArgument, NotFound

__all__ = ["ContainerSnapshots", "snapshot_document"]


def snapshot_document(snapshot: Any) -> JSONObject:
    return {
        "Name": snapshot.name,
        "Created": snapshot.created,
        "Size": snapshot.size,
        "Volumes": list(snapshot.volumes),
    }


class ContainerSnapshots(ContainerVolumes):
    _catalog: Any = None
    _catalog_lock = threading.Lock()
    _layers_lock = threading.RLock()  # frozen layers: made, named, stood on, collected

    def _snapshot_catalog(self) -> Any:
        from estiba.snapshots.catalog import SnapshotCatalog

        with self._catalog_lock:
            if self._catalog is None:
                self._catalog = SnapshotCatalog(self.data_root / "container-snapshots")
            return self._catalog

    # --- create, list, remove -----------------------------------------------------------

    async def create_snapshot(self, ref: str, name: str, *, include_volumes: bool) -> JSONObject:
        from estiba.snapshots.catalog import validate_snapshot_name

        record = await self._get(ref)
        if name:
            validate_snapshot_name(name)
        async with self._lock(record.id):
            record = await asyncio.to_thread(self.store.get, record.id)
            _check_usable(record)
            snapshot = await asyncio.to_thread(self._snapshot, record, name, include_volumes)
        self._publish("snapshot", record, snapshot=snapshot.name)
        return snapshot_document(snapshot)

    def _snapshot(self, record: Any, name: str, include_volumes: bool) -> Any:
        from estiba.engine.store import rfc3339_now
        from estiba.snapshots._fs import disk_usage
        from estiba.snapshots.catalog import ContainerSnapshot
        from estiba.snapshots.commit import copy_upper

        catalog = self._snapshot_catalog()
        name = name or catalog.next_name(record.id)
        with contextlib.suppress(NotFound):
            catalog.get(record.id, name)
            raise Conflict(f"snapshot {name} already exists", hint="choose another name")
        volumes = self._volume_names(record.id) if include_volumes else []

        def fill(directory: Path) -> int:
            for volume in volumes:
                target = directory / "volumes" / volume
                target.mkdir(mode=0o755, parents=True)
                copy_upper(self.volumes.mountpoint(volume), target)
            return self.snapshots.usage(layer).size + disk_usage(directory).size

        # One pause for the files and the volumes: both from the same moment.
        with self._layers_lock, self._frozen(record):
            layer = self._current_layer(record)
            snapshot = ContainerSnapshot(
                container=record.id, name=name, created=rfc3339_now(), image_id=record.image_id,
                config=record.config, host_config=record.host_config, labels=record.labels,
                volumes=tuple(volumes), layer=layer,
            )  # fmt: skip
            try:
                return catalog.add(snapshot, fill)
            except BaseException:
                self._collect_layers(layer)
                raise

    def _current_layer(self, record: Any) -> str:
        """A frozen layer holding the container's files now. A stopped container's upper
        is frozen in place (the container goes on over it); a running one's upper (the
        caller has paused it) is copied into a new layer over the same parent."""
        from estiba.snapshots import frozen, layer_dirs
        from estiba.snapshots.commit import copy_upper

        upper = layer_dirs(self.snapshots.mounts(record.id)).upper
        if not record.running and not _mounted_upper(upper):
            return frozen.freeze(self.snapshots, record.id, self._named_layers())
        name = frozen.new_layer_name()
        staging = f"copying-{name}"
        parent = self.snapshots.stat(record.id).parent
        target = layer_dirs(self.snapshots.prepare(staging, parent)).upper
        try:
            copy_upper(upper, target)
            self.snapshots.commit(name, staging, labels={frozen.FROZEN_LABEL: "1"})
        except BaseException:
            with contextlib.suppress(NotFound):
                self.snapshots.remove(staging)
            raise
        return name

    def _named_layers(self) -> set[str]:
        if self._catalog is None and not (self.data_root / "container-snapshots").exists():
            return set()
        return self._snapshot_catalog().layers()

    def _collect_layers(self, *names: str | None) -> None:
        """Remove the frozen layers among `names` (and their frozen ancestors) that no
        snapshot names and nothing stands on; the caller holds `_layers_lock`."""
        from estiba.snapshots import frozen

        named = self._named_layers()
        for name in names:
            frozen.collect(self.snapshots, name, named)

    @contextlib.contextmanager
    def _frozen(self, record: Any) -> Any:
        """A running container is frozen while its files are copied: a consistent copy."""
        if record.state is not State.RUNNING:
            yield
            return
        self._freeze(record, True)
        try:
            yield
        finally:
            self._freeze(record, False)

    def _volume_names(self, container_id: str) -> list[str]:
        if self.volumes is None:
            return []
        return list(self.volumes.names_used_by(container_id))

    async def list_snapshots(self, ref: str) -> list[JSONObject]:
        record = await self._get(ref)
        found = await asyncio.to_thread(self._snapshot_catalog().list, record.id)
        return [snapshot_document(s) for s in found]

    async def remove_snapshot(self, ref: str, name: str) -> None:
        record = await self._get(ref)
        await asyncio.to_thread(self._remove_snapshot, record, name)
        self._publish("snapshot-remove", record, snapshot=name)

    def _remove_snapshot(self, record: Any, name: str) -> None:
        """The row goes, then its layer unless the container, a copy or a later snapshot
        stands on it (it goes with the last of them)."""
        catalog = self._snapshot_catalog()
        snapshot = catalog.get(record.id, name)
        with self._layers_lock:
            catalog.remove(record.id, name)
            if snapshot.layer:
                self._collect_layers(snapshot.layer)

    def _forget_snapshots(self, container_id: str) -> None:
        """The container is being removed (its writable layer already is): its snapshots go
        with it, and every frozen layer nothing needs any more (a daemon that never made
        one has no catalog to open)."""
        from estiba.snapshots import frozen

        with self._layers_lock:
            if self._catalog is not None or (self.data_root / "container-snapshots").exists():
                self._snapshot_catalog().remove_all(container_id)
            frozen.sweep(self.snapshots, self._named_layers())

    # --- restore ------------------------------------------------------------------------

    async def restore_snapshot(self, ref: str, name: str, *, force: bool) -> None:
        record = await self._get(ref)
        snapshot = await asyncio.to_thread(self._snapshot_catalog().get, record.id, name)
        was_running = record.state in (State.RUNNING, State.PAUSED, State.RESTARTING)
        if was_running and not force:
            raise Conflict(
                f"container {record.api_name.lstrip('/')} is running",
                hint="stop it first, or restore with --force (stopped and started again)",
            )
        if was_running:
            await self.stop_container(record.id, timeout=None, signal=None)
        async with self._lock(record.id):
            record = await asyncio.to_thread(self.store.get, record.id)
            _check_usable(record)
            if record.running:
                raise Conflict(f"container {record.id} started again meanwhile: stop it first")
            await asyncio.to_thread(self._restore_files, record, snapshot)
        self._publish("restore", record, snapshot=name)
        if was_running:
            await self.start_container(record.id)

    def _restore_files(self, record: Any, snapshot: Any) -> None:
        from estiba.snapshots import frozen
        from estiba.snapshots.commit import copy_upper

        directory = self._snapshot_catalog().directory(record.id, snapshot.name)
        if snapshot.layer:
            with self._layers_lock:
                before = self.snapshots.stat(record.id).parent
                self.snapshots.reset(record.id, snapshot.layer)
                frozen.ensure_shallow(self.snapshots, record.id, self._named_layers())
                self._collect_layers(before)
        else:
            self._replace_layer(record.id, directory / "fs")
        for volume in snapshot.volumes:
            if self.volumes is not None:
                self.volumes.replace_contents(volume, directory / "volumes" / volume, copy_upper)
        self.store.update_state(
            record.id, None, config=snapshot.config, host_config=snapshot.host_config,
            labels=snapshot.labels, image_id=snapshot.image_id,
        )

    def _replace_layer(self, container_id: str, files: Path) -> None:
        """The container's writable layer becomes a copy of `files` (an old catalog's
        snapshot: a writable layer over the image alone): copied beside it first, then
        swapped in, so a failed copy leaves the old layer in place."""
        from estiba.snapshots import frozen, layer_dirs
        from estiba.snapshots.commit import copy_upper

        image = frozen.image_parent(self.snapshots, container_id)
        staging_key = f"restore-{container_id}"
        with contextlib.suppress(NotFound):
            self.snapshots.remove(staging_key)
        staging = layer_dirs(self.snapshots.prepare(staging_key, image)).upper
        try:
            copy_upper(files, staging)
        except BaseException:
            self.snapshots.remove(staging_key)
            raise
        with self._layers_lock:
            before = self.snapshots.stat(container_id).parent
            self.snapshots.reset(container_id, image)
            upper = layer_dirs(self.snapshots.mounts(container_id)).upper
            for entry in os.listdir(staging):
                os.rename(os.path.join(staging, entry), os.path.join(upper, entry))
            self.snapshots.remove(staging_key)
            self._collect_layers(before)

    # --- copy ---------------------------------------------------------------------------

    async def copy_container(
        self, ref: str, new_name: str, *, snapshot: str = "", include_volumes: bool = False
    ) -> CreatedContainer:
        record = await self._get(ref)
        taken = await asyncio.to_thread(_name_taken, self.store, new_name)
        if taken:
            raise Conflict(f'The container name "/{new_name}" is already in use')
        async with self._lock(record.id):
            record = await asyncio.to_thread(self.store.get, record.id)
            _check_usable(record)
            copied = await asyncio.to_thread(self._copy, record, new_name, snapshot, include_volumes)
        self._publish("create", copied)
        self._publish("copy", record, copy=copied.id, snapshot=snapshot)
        return CreatedContainer(copied.id)

    def _copy(self, record: Any, new_name: str, snapshot_name: str, include_volumes: bool) -> Any:
        from estiba.engine.names import new_id
        from estiba.engine.store import ContainerRecord, rfc3339_now

        snapshot = self._snapshot_catalog().get(record.id, snapshot_name) if snapshot_name else None
        if snapshot is not None:
            config, host_config = snapshot.config, snapshot.host_config
            labels, image_id = snapshot.labels, snapshot.image_id
        else:
            config, host_config = record.config, record.host_config
            labels, image_id = record.labels, record.image_id
        config = dict(config)
        if config.get("Hostname") in (record.short_id, record.id[:12]):
            config["Hostname"] = ""  # the default hostname is the id: a new one for the copy
        container_id = new_id()
        with contextlib.ExitStack() as undo:
            with self._layers_lock:
                self._copy_files(record, snapshot, container_id)
                undo.callback(self._remove_copy_files, container_id)
            if self.volumes is not None:
                host_config = self.volumes.copy_for(record.id, container_id, host_config,
                                                    include_volumes=include_volumes, name=new_name)
                undo.callback(self.volumes.release, container_id, remove_anonymous=True)
            copied = self.store.add(
                ContainerRecord(
                    id=container_id, name=new_name, image_id=image_id, image_ref=record.image_ref,
                    created=rfc3339_now(), config=config, host_config=host_config,
                    labels=dict(labels), state_dir=str(self.paths(container_id).state_dir),
                )
            )
            undo.pop_all()
        return copied

    def _copy_files(self, record: Any, snapshot: Any, container_id: str) -> None:
        """The new container's root: over the snapshot's layer, or over the source's files
        now (a stopped source frozen first, a running one paused while its upper is copied;
        so is an old catalog's copied snapshot)."""
        from estiba.snapshots import frozen, layer_dirs
        from estiba.snapshots.commit import copy_upper

        layer = snapshot.layer if snapshot is not None else ""
        if snapshot is None:
            upper = layer_dirs(self.snapshots.mounts(record.id)).upper
            if not record.running and not _mounted_upper(upper):
                layer = frozen.freeze(self.snapshots, record.id, self._named_layers())
        if layer:
            self.snapshots.prepare(container_id, layer)
            try:
                frozen.ensure_shallow(self.snapshots, container_id, self._named_layers())
            except BaseException:
                self._remove_copy_files(container_id)
                raise
            return
        if snapshot is not None:  # its files were the upper over the image alone
            files = self._snapshot_catalog().directory(record.id, snapshot.name) / "fs"
            parent = frozen.image_parent(self.snapshots, record.id)
        else:
            files = Path(layer_dirs(self.snapshots.mounts(record.id)).upper)
            parent = self.snapshots.stat(record.id).parent
        upper = layer_dirs(self.snapshots.prepare(container_id, parent)).upper
        try:
            with self._frozen(record) if snapshot is None else contextlib.nullcontext():
                copy_upper(files, upper)
        except BaseException:
            self._remove_copy_files(container_id)
            raise

    def _remove_copy_files(self, container_id: str) -> None:
        with self._layers_lock:
            try:
                parent = self.snapshots.stat(container_id).parent
            except NotFound:
                return
            self.snapshots.remove(container_id)
            self._collect_layers(parent)

    # Provided by EngineContainers.
    _get: Any
    _lock: Any
    _publish: Any
    _freeze: Any
    stop_container: Any
    start_container: Any
    store: Any
    snapshots: Any
    paths: Any
    data_root: Path


def _mounted_upper(upper: str | None) -> bool:
    """Whether an overlay mount writes into `upper` (a stopped container's root left
    mounted): its upper can then not be frozen in place, only copied."""
    if upper is None:
        return False
    wanted = f"upperdir={upper}"
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mounts:
        for line in mounts:
            line = line.rstrip("\n")
            if line.split(" - ", 1)[-1].split()[0:1] == ["overlay"] and wanted in line.split(","):
                return True
    return False


def _check_usable(record: Any) -> None:
    if record.state in (State.REMOVING, State.DEAD):
        raise Conflict(f"container {record.id} is {record.state.value}")


def _name_taken(store: Any, name: str) -> bool:
    if not name:
        raise InvalidArgument("container copy needs a name for the new container")
    try:
        store.get(name)
    except NotFound:
        return False
    return True
