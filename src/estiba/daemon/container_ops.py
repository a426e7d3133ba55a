"""The container operations beside the lifecycle: top, rename, update, changes (diff),
stats and export, as a mixin of `EngineContainers` (which provides `_get`, `store`,
`snapshots`, `paths`, `shim`, `runtime`, `runtime_root`, `_publish`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NoReturn

from estiba.api.types import Change, JSONObject, TopResult
from estiba.errors import Unsupported

__all__ = ["ContainerOps"]


class ContainerOps:
    async def top_container(self, ref: str, *, ps_args: str) -> TopResult:
        _unsupported("top", await self._get(ref))

    async def rename_container(self, ref: str, new_name: str) -> None:
        _unsupported("rename", await self._get(ref))

    async def update_container(self, ref: str, update: JSONObject) -> list[str]:
        _unsupported("update", await self._get(ref))

    async def container_changes(self, ref: str) -> list[Change]:
        _unsupported("diff", await self._get(ref))

    async def container_stats(
        self, ref: str, *, stream: bool, one_shot: bool
    ) -> AsyncIterator[JSONObject]:
        _unsupported("stats", await self._get(ref))

    async def export_container(self, ref: str) -> AsyncIterator[bytes]:
        _unsupported("export", await self._get(ref))

    _get: Any


def _unsupported(what: str, record: Any) -> NoReturn:
    raise Unsupported(f"`docker {what}` is not supported by estibad yet", hint=f"container {record.short_id}")
