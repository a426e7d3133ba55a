"""The API's VolumeBackend on the volume service: every call in a worker thread (SQLite,
directories, mounts), request bodies spooled to a file under the data root first."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from estiba.api.types import Filters, ImageDeleteItem, JSONObject, PruneReport, VolumeCreateOptions
from estiba.volumes.options import VolumeFilters
from estiba.volumes.service import VolumeService, volume_document

__all__ = ["ServiceVolumeBackend"]

_CHUNK = 1 << 16


class ServiceVolumeBackend:
    """VolumeBackend over a VolumeService."""

    def __init__(self, service: VolumeService, *, tmpdir: Path) -> None:
        self.service = service
        self.tmpdir = Path(tmpdir)

    async def list_volumes(self, filters: Filters) -> list[JSONObject]:
        wanted = VolumeFilters.from_api(filters)
        volumes = await asyncio.to_thread(self.service.list, wanted)
        return [volume_document(v) for v in volumes]

    async def create_volume(self, options: VolumeCreateOptions) -> JSONObject:
        volume = await asyncio.to_thread(
            self.service.create, options.name, driver=options.driver,
            labels=options.labels, options=options.driver_opts,
        )  # fmt: skip
        return volume_document(volume)

    async def inspect_volume(self, name: str) -> JSONObject:
        return volume_document(await asyncio.to_thread(self.service.get, name))

    async def remove_volume(self, name: str, *, force: bool) -> None:
        await asyncio.to_thread(self.service.remove, name, force=force)

    async def prune_volumes(self, filters: Filters) -> PruneReport:
        deleted, reclaimed = await asyncio.to_thread(self.service.prune, VolumeFilters.from_api(filters))
        return PruneReport(tuple(ImageDeleteItem(deleted=name) for name in deleted), reclaimed)

    async def clone_volume(self, name: str, new_name: str) -> JSONObject:
        return volume_document(await asyncio.to_thread(self.service.clone, name, new_name))

    async def rename_volume(self, name: str, new_name: str) -> JSONObject:
        return volume_document(await asyncio.to_thread(self.service.rename, name, new_name))

    async def replace_volume_data(self, name: str, source: str) -> JSONObject:
        return volume_document(await asyncio.to_thread(self.service.replace_from, name, source))

    async def export_volume(self, name: str) -> AsyncIterator[bytes]:
        await asyncio.to_thread(self.service.get, name)  # NotFound before the stream starts
        spool = self._spool()
        try:
            await asyncio.to_thread(self.service.export, name, spool)
        except BaseException:
            spool.close()
            raise
        return _read_back(spool)

    async def import_volume(self, name: str, data: AsyncIterator[bytes]) -> JSONObject:
        with self._spool() as spool:
            async for chunk in data:
                await asyncio.to_thread(spool.write, chunk)
            await asyncio.to_thread(spool.seek, 0)
            volume = await asyncio.to_thread(self.service.import_, name, spool)
        return volume_document(volume)

    def _spool(self) -> Any:
        self.tmpdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return tempfile.TemporaryFile(dir=self.tmpdir)


async def _read_back(spool: Any) -> AsyncIterator[bytes]:
    try:
        await asyncio.to_thread(spool.seek, 0)
        while chunk := await asyncio.to_thread(spool.read, _CHUNK):
            yield chunk
    finally:
        spool.close()
