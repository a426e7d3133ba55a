"""A container's volumes and bind mounts over its life, as a mixin of `EngineContainers`:
the hooks its create, start, exit and remove call, each one line there.

    create   _attach_volumes: -v, --mount, --volumes-from and the image's VOLUMEs planned
             (`estiba.volumes.binds`), volumes made, the mounts recorded   (undone on failure)
    start    _volume_mounts: the spec's bind mounts; device volumes mounted; copy-up
    exit     _volumes_stopped: device volumes no running container uses unmounted
    remove   _forget_storage: the mounts forgotten, anonymous volumes removed with
             `rm -v` or --rm (never named ones), the container's snapshots deleted

Without a volume service (`volumes` None) every hook does nothing and a container that
asks for volumes is refused.
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import ExitStack
from typing import Any

from estiba.errors import EstibaError, NotFound, Unsupported

__all__ = ["ContainerVolumes"]

log = logging.getLogger(__name__)


class ContainerVolumes:
    volumes: Any = None  # the daemon's VolumeService, set when the daemon has one

    def _attach_volumes(self, container_id: str, body: dict[str, Any], merged: Any, undo: ExitStack) -> None:
        """At create, inside its undo stack."""
        from estiba.engine.hostconfig import HostConfig
        from estiba.volumes.binds import parse_volumes_from, plan_mounts

        host = HostConfig.from_api(dict(body.get("HostConfig") or {}))
        inherited = []
        for spec in host.volumes_from:
            ref, mode = parse_volumes_from(spec)
            source = self.store.get(ref)  # NotFound: "No such container: x"
            if self.volumes is not None:
                inherited += [(request, mode) for request in self.volumes.requests_of(source.id)]
        requests = plan_mounts(
            binds=host.binds, mounts=host.mounts, volumes=tuple(merged.volumes), inherited=inherited
        )
        if not requests:
            return
        if self.volumes is None:
            raise Unsupported("this daemon has no volumes")
        self.volumes.attach(container_id, requests)
        undo.callback(self.volumes.release, container_id, remove_anonymous=True)

    def _volume_mounts(self, record: Any) -> list[dict[str, Any]]:
        """At start, with the root mounted (copy-up reads the image's files from it)."""
        if self.volumes is None:
            return []
        return self.volumes.container_mounts(record.id, self.paths(record.id).rootfs)

    def _volumes_stopped(self, container_id: str) -> None:
        if self.volumes is None:
            return
        try:
            self.volumes.stopped(container_id)
        except EstibaError as exc:
            log.warning("unmounting the volumes of %s: %s", container_id[:12], exc)

    def _remove_volumes_with(self, container_id: str) -> None:
        """`rm -v`: the removal that follows takes the anonymous volumes along."""
        self.__dict__.setdefault("_volume_removals", set()).add(container_id)

    def _forget_storage(self, record: Any) -> None:
        """At removal, after the snapshot is gone."""
        removals = self.__dict__.setdefault("_volume_removals", set())
        anonymous = record.id in removals or bool(record.host_config.get("AutoRemove"))
        removals.discard(record.id)
        if self.volumes is not None:
            try:
                self.volumes.release(record.id, remove_anonymous=anonymous)
            except EstibaError as exc:
                log.warning("releasing the volumes of %s: %s", record.short_id, exc)
        with contextlib.suppress(NotFound):
            self._forget_snapshots(record.id)

    def _inspect_mounts(self, container_id: str) -> list[dict[str, Any]]:
        if self.volumes is None:
            return []
        return self.volumes.inspect_mounts(container_id)

    # Provided by EngineContainers and the other mixins.
    store: Any
    paths: Any
    _forget_snapshots: Any
