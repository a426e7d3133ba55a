"""The project's networks, volumes and images: made when missing, checked when
external, removed by `down`."""

from __future__ import annotations

from estiba.cli.client import quote_ref
from estiba.compose import labels
from estiba.compose import specs
from estiba.compose.engine.progress import Progress
from estiba.compose.model import Project
from estiba.errors import Conflict, Forbidden, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ensure_networks",
    "ensure_volumes",
    "image_id",
    "networks_in_use",
    "remove_networks",
    "remove_volumes",
]


def networks_in_use(project: Project) -> list[str]:
    """The network keys the project's services join (compose makes only those)."""
    used: set[str] = set()
    for service in project.services.values():
        if not service.get("network_mode"):
            used.update(service.get("networks") or {"default": None})
    return sorted(k for k in project.config.get("networks", {}) if k in used)


def ensure_networks(client: Any, project: Project, progress: Progress) -> None:
    for key in networks_in_use(project):
        network = project.config["networks"][key]
        name = network.get("name") or f"{project.name}_{key}"
        if _exists(client, f"/networks/{quote_ref(name)}"):
            continue
        if network.get("external"):
            raise NotFound(
                f"network {name} declared as external, but could not be found",
                hint=f"create it with `estiba network create {name}`",
            )
        progress.event("Network", name, "Creating")
        client.post("/networks/create", specs.network_body(project, key))
        progress.event("Network", name, "Created")


def ensure_volumes(client: Any, project: Project, progress: Progress) -> None:
    for key, volume in sorted(project.config.get("volumes", {}).items()):
        name = volume.get("name") or f"{project.name}_{key}"
        if _exists(client, f"/volumes/{quote_ref(name)}"):
            continue
        if volume.get("external"):
            raise NotFound(
                f'external volume "{name}" not found',
                hint=f"create it with `estiba volume create {name}`",
            )
        progress.event("Volume", f'"{name}"', "Creating")
        client.post("/volumes/create", specs.volume_body(project, key))
        progress.event("Volume", f'"{name}"', "Created")


def remove_networks(client: Any, project_name: str, project: Project | None, progress: Progress) -> None:
    """The project's own networks: those labelled with it, and those of the model that
    are not external."""
    names = {n["Name"] for n in labels.list_networks(client, project_name)}
    _remove_owned("Network", "/networks", "networks", names, project_name, project, client, progress)


def remove_volumes(client: Any, project_name: str, project: Project | None, progress: Progress) -> None:
    """The project's own volumes, as its networks (snapshot copies carry its label too)."""
    names = {v["Name"] for v in labels.list_volumes(client, project_name)}
    _remove_owned("Volume", "/volumes", "volumes", names, project_name, project, client, progress)


def _remove_owned(
    kind: str, route: str, section: str, names: set[str], project_name: str, project: Project | None,
    client: Any, progress: Progress,
) -> None:
    if project is not None:
        for key, item in project.config.get(section, {}).items():
            if not item.get("external"):
                names.add(item.get("name") or f"{project_name}_{key}")
    for name in sorted(names):
        path = f"{route}/{quote_ref(name)}"
        if not _exists(client, path):
            continue
        progress.event(kind, name, "Removing")
        try:
            client.call("DELETE", path)
        except NotFound:
            pass
        except (Conflict, Forbidden):  # still used by a container outside the project's model (compose's warning)
            progress.event(kind, name, "Resource is still in use")
            continue
        progress.event(kind, name, "Removed")


def image_id(client: Any, name: str) -> str | None:
    """The local image's ID, None when the engine does not have it."""
    try:
        return client.get(f"/images/{quote_ref(name)}/json").get("Id")
    except NotFound:
        return None


def _exists(client: Any, path: str) -> bool:
    try:
        client.get(path)
    except NotFound:
        return False
    return True
