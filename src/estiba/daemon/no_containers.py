"""Placeholder ContainerBackend and ExecBackend until containers arrive with the shim
integration: the list is empty and every container or exec named is not found.

NotFound (404, "No such container: x") rather than Unsupported keeps clients on their
ordinary paths (`docker ps`, `docker rm x`, docker-py's lookups). Create is refused
with Unsupported (501): a 404 there would make the docker CLI try to pull the image.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any, NoReturn

from estiba.api.types import (
    Archive,
    AttachOptions,
    Change,
    ContainerListOptions,
    CreatedContainer,
    ExecConfig,
    ExecStartOptions,
    JSONObject,
    LogsOptions,
    Output,
    PathStat,
    Session,
    TopResult,
    WaitCondition,
    WaitResult,
)
from estiba.errors import NotFound, Unsupported

__all__ = ["NoContainers"]


def _no_container(ref: str) -> NoReturn:
    raise NotFound(f"No such container: {ref}")


class NoContainers:
    """ContainerBackend and ExecBackend of a daemon that runs no containers yet."""

    async def create_container(
        self, config: JSONObject, *, name: str | None, platform: str | None
    ) -> CreatedContainer:
        raise Unsupported(
            "this estibad cannot create containers yet",
            hint="containers arrive with the shim integration",
        )

    async def list_containers(self, options: ContainerListOptions) -> list[JSONObject]:
        return []

    async def inspect_container(self, ref: str, *, size: bool) -> JSONObject:
        _no_container(ref)

    async def start_container(self, ref: str, *, defer_ports: bool = False) -> None:
        _no_container(ref)

    async def stop_container(self, ref: str, *, timeout: int | None, signal: str | None) -> None:
        _no_container(ref)

    async def restart_container(
        self, ref: str, *, timeout: int | None, signal: str | None
    ) -> None:
        _no_container(ref)

    async def kill_container(self, ref: str, *, signal: str | None) -> None:
        _no_container(ref)

    async def pause_container(self, ref: str) -> None:
        _no_container(ref)

    async def unpause_container(self, ref: str) -> None:
        _no_container(ref)

    async def wait_container(self, ref: str, condition: WaitCondition) -> Awaitable[WaitResult]:
        _no_container(ref)

    async def remove_container(
        self, ref: str, *, force: bool, remove_volumes: bool, remove_link: bool
    ) -> None:
        _no_container(ref)

    async def container_logs(self, ref: str, options: LogsOptions) -> Output:
        _no_container(ref)

    async def attach_container(self, ref: str, options: AttachOptions) -> Session:
        _no_container(ref)

    async def resize_container(self, ref: str, *, height: int, width: int) -> None:
        _no_container(ref)

    async def top_container(self, ref: str, *, ps_args: str) -> TopResult:
        _no_container(ref)

    async def rename_container(self, ref: str, new_name: str) -> None:
        _no_container(ref)

    async def update_container(self, ref: str, update: JSONObject) -> list[str]:
        _no_container(ref)

    async def container_changes(self, ref: str) -> list[Change]:
        _no_container(ref)

    async def container_stats(
        self, ref: str, *, stream: bool, one_shot: bool
    ) -> AsyncIterator[JSONObject]:
        _no_container(ref)

    async def export_container(self, ref: str) -> AsyncIterator[bytes]:
        _no_container(ref)

    async def stat_container_path(self, ref: str, path: str) -> PathStat:
        _no_container(ref)

    async def get_container_archive(self, ref: str, path: str) -> Archive:
        _no_container(ref)

    async def put_container_archive(self, ref: str, path: str, data: Any, **options: Any) -> None:
        _no_container(ref)

    # --- exec ------------------------------------------------------------------------

    async def create_exec(self, ref: str, config: ExecConfig) -> str:
        _no_container(ref)

    async def start_exec(self, exec_id: str, options: ExecStartOptions) -> Session | None:
        raise NotFound(f"No such exec instance: {exec_id}")

    async def inspect_exec(self, exec_id: str) -> JSONObject:
        raise NotFound(f"No such exec instance: {exec_id}")

    async def resize_exec(self, exec_id: str, *, height: int, width: int) -> None:
        raise NotFound(f"No such exec instance: {exec_id}")
