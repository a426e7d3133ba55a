"""The com.docker.compose.* labels: how a project's state is read back from the engine.

Compose keeps no file of its own: every container, network and volume it makes carries
these labels (the same as docker compose v2's), and each command finds its objects
by filtering the engine's lists on them. Containers are named `<project>-<service>-<n>`
(v2's separator); one-off containers of `run` are `<project>-<service>-run-<hex>`.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CONFIG_FILES",
    "CONFIG_HASH",
    "CONTAINER_NUMBER",
    "COMPOSE_VERSION",
    "DEPENDS_ON",
    "IMAGE",
    "NETWORK",
    "ONEOFF",
    "PROJECT",
    "REPLACE",
    "SERVICE",
    "SNAPSHOT",
    "SNAPSHOT_VOLUME",
    "VERSION",
    "VOLUME",
    "WORKING_DIR",
    "container_name",
    "is_snapshot_copy",
    "label_filters",
    "list_containers",
    "list_networks",
    "list_volumes",
    "number_of",
    "service_of",
]

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
CONTAINER_NUMBER = "com.docker.compose.container-number"
ONEOFF = "com.docker.compose.oneoff"
CONFIG_HASH = "com.docker.compose.config-hash"
VERSION = "com.docker.compose.version"
WORKING_DIR = "com.docker.compose.project.working_dir"
CONFIG_FILES = "com.docker.compose.project.config_files"
DEPENDS_ON = "com.docker.compose.depends_on"
IMAGE = "com.docker.compose.image"
REPLACE = "com.docker.compose.replace"
NETWORK = "com.docker.compose.network"
VOLUME = "com.docker.compose.volume"
# Estiba's project snapshots (estiba.compose.snapshots): a volume's copy kept for snapshot
# NAME carries SNAPSHOT=NAME and SNAPSHOT_VOLUME=the volume it copies, besides PROJECT
# (so `down -v` removes it with the project's volumes); it is no project volume.
SNAPSHOT = "estiba.compose.snapshot"
SNAPSHOT_VOLUME = "estiba.compose.snapshot.volume"

# What we write in com.docker.compose.version: the compose command line we follow.
COMPOSE_VERSION = "2.20.0"


def container_name(project: str, service: str, number: int) -> str:
    return f"{project}-{service}-{number}"


def label_filters(project: str, *, service: str | None = None, oneoff: bool | None = False) -> str:
    """The `filters` query value selecting a project's objects (JSON, as the API takes it)."""
    labels = [f"{PROJECT}={project}"]
    if service is not None:
        labels.append(f"{SERVICE}={service}")
    if oneoff is not None:
        labels.append(f"{ONEOFF}={'True' if oneoff else 'False'}")
    return json.dumps({"label": labels})


def list_containers(
    client: Any,
    project: str,
    *,
    services: list[str] | None = None,
    stopped: bool = True,
    oneoff: bool | None = False,
) -> list[dict]:
    """The project's containers (GET /containers/json), sorted by service then number.

    `oneoff=None` takes both the service containers and `run`'s one-off ones."""
    found = client.get(
        "/containers/json", all=stopped, filters=label_filters(project, oneoff=oneoff)
    )
    if services is not None:
        wanted = set(services)
        found = [c for c in found if service_of(c) in wanted]
    return sorted(found, key=lambda c: (service_of(c), number_of(c), c.get("Names", [""])[0]))


def list_networks(client: Any, project: str) -> list[dict]:
    return client.get("/networks", filters=json.dumps({"label": [f"{PROJECT}={project}"]}))


def list_volumes(client: Any, project: str) -> list[dict]:
    """Every volume with the project's label: its volumes and its snapshots' volume
    copies (`is_snapshot_copy`), which `down -v` removes together."""
    answer = client.get("/volumes", filters=json.dumps({"label": [f"{PROJECT}={project}"]}))
    return answer.get("Volumes") or []


def is_snapshot_copy(volume: dict) -> bool:
    """Whether a volume is a project snapshot's copy of a volume, not a project volume."""
    return SNAPSHOT in (volume.get("Labels") or {})


def service_of(container: dict) -> str:
    return (container.get("Labels") or {}).get(SERVICE, "")


def number_of(container: dict) -> int:
    try:
        return int((container.get("Labels") or {}).get(CONTAINER_NUMBER, "0"))
    except ValueError:
        return 0
