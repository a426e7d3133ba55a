"""A RUN step: a container from the step's parent image, run through the engine (the same
create/start/wait/remove as `docker run`, so the same isolation), its output streamed,
its writable layer taken as the step's layer. The container is removed whatever happens.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from estiba.build.errors import BuildFailed
from estiba.build.layers import ImageState, keep_as_snapshot, layer_of_upper
from estiba.content import Descriptor
from estiba.errors import EstibaError

__all__ = ["RunRequest", "run_step"]


@dataclass(frozen=True)
class RunRequest:
    argv: tuple[str, ...]
    env: tuple[str, ...]
    working_dir: str
    user: str
    network_mode: str
    extra_hosts: tuple[str, ...] = ()
    shown: str = ""  # the command as Docker's error names it


def container_body(state: ImageState, request: RunRequest) -> dict[str, Any]:
    """The create request of a RUN's container: no entrypoint, no healthcheck."""
    return {
        "Image": state.image_id,
        "Cmd": list(request.argv),
        "Entrypoint": [""],
        "Env": list(request.env),
        "WorkingDir": request.working_dir,
        "User": request.user,
        "Healthcheck": {"Test": ["NONE"]},
        "AttachStdout": True,
        "AttachStderr": True,
        "HostConfig": {
            "NetworkMode": request.network_mode,
            "ExtraHosts": list(request.extra_hosts) or None,
        },
    }


async def run_step(
    containers: Any,
    images: Any,
    snapshots: Any,
    state: ImageState,
    request: RunRequest,
    emit: Callable[[str], Any],
) -> tuple[Descriptor, str] | None:
    """Run the command; its layer (None when it changed nothing). BuildFailed with the
    command's exit code when it fails."""
    from estiba.api.types import LogsOptions, WaitCondition

    create = asyncio.ensure_future(
        containers.create_container(container_body(state, request), name=None, platform=None)
    )
    try:
        created = await asyncio.shield(create)
    except asyncio.CancelledError:
        # The build was cancelled while the container was being made: it goes too.
        with contextlib.suppress(Exception):
            await _remove(containers, (await create).id)
        raise
    container_id = created.id
    try:
        await emit(f" ---> Running in {container_id[:12]}\n")
        waiter = await containers.wait_container(container_id, WaitCondition.NEXT_EXIT)
        await containers.start_container(container_id)
        output = await containers.container_logs(
            container_id, LogsOptions(stdout=True, stderr=True, follow=True)
        )
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            async for chunk in output.chunks:
                text = decoder.decode(chunk.data)
                if text:
                    await emit(text)
        finally:
            close = getattr(output.chunks, "aclose", None)
            if close is not None:
                await close()
        result = await waiter
        if result.status_code != 0:
            raise BuildFailed(
                f"The command '{request.shown}' returned a non-zero code: {result.status_code}",
                exit_code=result.status_code,
            )
        upper = _upper(snapshots, container_id)
        layer = await asyncio.to_thread(layer_of_upper, images, upper)
        if layer is not None:
            # The container is gone from the runtime: its root is unmounted, and its
            # removal below finds no snapshot to drop.
            await asyncio.to_thread(keep_as_snapshot, snapshots, container_id, upper, state, layer[1])
        return layer
    finally:
        await asyncio.shield(_remove(containers, container_id))
        await emit(f" ---> Removed intermediate container {container_id[:12]}\n")


def _upper(snapshots: Any, container_id: str) -> Path:
    from estiba.snapshots import layer_dirs

    upper = layer_dirs(snapshots.mounts(container_id)).upper
    if upper is None:
        raise EstibaError(f"container {container_id} has no writable layer")
    return Path(upper)


async def _remove(containers: Any, container_id: str) -> None:
    with contextlib.suppress(EstibaError):
        await containers.remove_container(container_id, force=True, remove_volumes=True, remove_link=False)


def shown_command(argv: Sequence[str]) -> str:
    return " ".join(argv)
