"""LXD's snapshots and copies on any container, as a mixin of `EngineContainers`.

    snapshot create C [NAME]   the writable layer (and, with volumes, their data) and the
                               configuration, kept in the `SnapshotCatalog`
    snapshot restore C NAME    files and configuration back; a running container only
                               with force (stopped, restored, started again)
    container copy C[/S] NEW   a new stopped container with the same configuration and
                               files, a new id, name and hostname

The image's layers are shared, never copied: only the container's own writable layer is,
with cp's reflinks where the filesystem shares blocks (btrfs, xfs) and a plain copy on
the others. A copy or a restored container keeps its files in its own writable layer, so
`diff` and `commit` see every change it has over its image.
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
        from estiba.snapshots import layer_dirs
        from estiba.snapshots._fs import disk_usage
        from estiba.snapshots.catalog import ContainerSnapshot
        from estiba.snapshots.commit import copy_upper

        catalog = self._snapshot_catalog()
        name = name or catalog.next_name(record.id)
        upper = layer_dirs(self.snapshots.mounts(record.id)).upper
        volumes = self._volume_names(record.id) if include_volumes else []

        def fill(directory: Path) -> int:
            (directory / "fs").mkdir(mode=0o755)
            with self._frozen(record):
                copy_upper(upper, directory / "fs")
                for volume in volumes:
                    target = directory / "volumes" / volume
                    target.mkdir(mode=0o755, parents=True)
                    copy_upper(self.volumes.mountpoint(volume), target)
            return disk_usage(directory).size

        snapshot = ContainerSnapshot(
            container=record.id, name=name, created=rfc3339_now(), image_id=record.image_id,
            config=record.config, host_config=record.host_config, labels=record.labels,
            volumes=tuple(volumes),
        )  # fmt: skip
        return catalog.add(snapshot, fill)

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
        await asyncio.to_thread(self._snapshot_catalog().remove, record.id, name)
        self._publish("snapshot-remove", record, snapshot=name)

    def _forget_snapshots(self, container_id: str) -> None:
        """The container is being removed: its snapshots go with it (a daemon that never
        made one has no catalog to open)."""
        if self._catalog is None and not (self.data_root / "container-snapshots").exists():
            return
        self._snapshot_catalog().remove_all(container_id)

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
        from estiba.snapshots.commit import copy_upper

        directory = self._snapshot_catalog().directory(record.id, snapshot.name)
        self._replace_layer(record.id, directory / "fs")
        for volume in snapshot.volumes:
            if self.volumes is not None:
                self.volumes.replace_contents(volume, directory / "volumes" / volume, copy_upper)
        self.store.update_state(
            record.id, None, config=snapshot.config, host_config=snapshot.host_config,
            labels=snapshot.labels, image_id=snapshot.image_id,
        )

    def _replace_layer(self, container_id: str, files: Path) -> None:
        """The container's writable layer becomes a copy of `files`: copied beside it
        first, then swapped in, so a failed copy leaves the old layer in place."""
        from estiba.snapshots import layer_dirs
        from estiba.snapshots.commit import copy_upper

        parent = self.snapshots.stat(container_id).parent
        staging_key = f"restore-{container_id}"
        with contextlib.suppress(NotFound):
            self.snapshots.remove(staging_key)
        staging = layer_dirs(self.snapshots.prepare(staging_key, parent)).upper
        try:
            copy_upper(files, staging)
        except BaseException:
            self.snapshots.remove(staging_key)
            raise
        self.snapshots.remove(container_id)
        upper = layer_dirs(self.snapshots.prepare(container_id, parent)).upper
        for entry in os.listdir(staging):
            os.rename(os.path.join(staging, entry), os.path.join(upper, entry))
        self.snapshots.remove(staging_key)

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
        from estiba.snapshots import layer_dirs
        from estiba.snapshots.commit import copy_upper

        if snapshot_name:
            snapshot = self._snapshot_catalog().get(record.id, snapshot_name)
            files = self._snapshot_catalog().directory(record.id, snapshot_name) / "fs"
            config, host_config = snapshot.config, snapshot.host_config
            labels, image_id = snapshot.labels, snapshot.image_id
        else:
            files = Path(layer_dirs(self.snapshots.mounts(record.id)).upper)
            config, host_config = record.config, record.host_config
            labels, image_id = record.labels, record.image_id
        config = dict(config)
        if config.get("Hostname") in (record.short_id, record.id[:12]):
            config["Hostname"] = ""  # the default hostname is the id: a new one for the copy
        container_id = new_id()
        parent = self.snapshots.stat(record.id).parent
        with contextlib.ExitStack() as undo:
            upper = layer_dirs(self.snapshots.prepare(container_id, parent)).upper
            undo.callback(self.snapshots.remove, container_id)
            with self._frozen(record) if not snapshot_name else contextlib.nullcontext():
                copy_upper(files, upper)
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
