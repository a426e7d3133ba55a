"""A container's files from outside: `cp` both ways (the archive routes) and `commit`, as a
mixin of `EngineContainers` (which provides `_get`, `store`, `snapshots`, `paths`,
`images`, `_lock`, `_publish`)."""

from __future__ import annotations

from typing import Any, NoReturn

from estiba.api.types import Archive, PathStat
from estiba.errors import Unsupported

__all__ = ["ContainerFiles"]


class ContainerFiles:
    async def stat_container_path(self, ref: str, path: str) -> PathStat:
        _unsupported("cp", await self._get(ref))

    async def get_container_archive(self, ref: str, path: str) -> Archive:
        _unsupported("cp", await self._get(ref))

    async def put_container_archive(self, ref: str, path: str, data: Any, **options: Any) -> None:
        _unsupported("cp", await self._get(ref))

    _get: Any


def _unsupported(what: str, record: Any) -> NoReturn:
    raise Unsupported(f"`docker {what}` is not supported by estibad yet", hint=f"container {record.short_id}")
