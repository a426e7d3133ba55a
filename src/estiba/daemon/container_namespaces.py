"""The PID and IPC namespaces a container shares with another one ("container:<name|id>"
modes, docker-compose's `pid: service:x` and `ipc: service:x`): the other container's,
reached through its process, or dockerd's refusal when that container cannot share them."""

from __future__ import annotations

from estiba.engine.hostconfig import HostConfig, namespace_container
from estiba.engine.states import State
from estiba.engine.store import ContainerRecord, ContainerStore
from estiba.errors import Conflict, NotFound

__all__ = ["joined_namespaces"]

# What dockerd lets another container join the IPC namespace of: a donor made with
# --ipc shareable (its default, "private", is not), or one that itself joined another's.
_SHAREABLE_IPC = ("shareable", "container:")


def joined_namespaces(host: HostConfig, containers: ContainerStore) -> dict[str, str]:
    """The namespace files to join, by OCI namespace type ("pid", "ipc")."""
    paths: dict[str, str] = {}
    donor = namespace_container(host.pid_mode)
    if donor is not None:
        # dockerd words the two refusals differently: only a missing donor gets a prefix.
        record = _running(containers, donor, f"cannot join PID of a non running container: {donor}: ", "")
        paths["pid"] = f"/proc/{record.pid}/ns/pid"
    donor = namespace_container(host.ipc_mode)
    if donor is not None:
        refusal = f"can't join IPC of container {donor}"
        record = _running(containers, donor, f"{refusal}: ", f"{refusal}: ")
        if not str(record.host_config.get("IpcMode") or "").startswith(_SHAREABLE_IPC):
            raise Conflict(f"{refusal}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)")
        paths["ipc"] = f"/proc/{record.pid}/ns/ipc"
    return paths


def _running(containers: ContainerStore, ref: str, missing: str, stopped: str) -> ContainerRecord:
    """The donor container, running; `missing` and `stopped` prefix the refusals."""
    try:
        record = containers.get(ref)
    except NotFound as exc:
        raise NotFound(f"{missing}{exc}") from exc
    if record.state is State.RESTARTING:
        raise Conflict(f"{stopped}container {record.id} is restarting, wait until the container is running")
    if record.state not in (State.RUNNING, State.PAUSED) or not record.pid:
        raise Conflict(f"{stopped}container {record.id} is not running")
    return record
