"""Rows for `ps` and `images`: API summaries become the fields docker's templates name.

Each row is a dict of strings keyed by docker's field names ({{.ID}}, {{.Names}}...),
so `--format`, `{{json .}}` and the default tables all read the same values.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from estiba.cli.units import human_size_precision, since

TYPE_CHECKING = False  # typing costs the CLI milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CONTAINER_HEADERS",
    "IMAGE_HEADERS",
    "container_row",
    "ellipsis",
    "filters_param",
    "image_rows",
    "short_id",
]

CONTAINER_HEADERS = {
    "ID": "CONTAINER ID",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "RunningFor": "CREATED",
    "CreatedAt": "CREATED AT",
    "Status": "STATUS",
    "Ports": "PORTS",
    "Names": "NAMES",
    "Size": "SIZE",
    "Labels": "LABELS",
    "State": "STATE",
    "Mounts": "MOUNTS",
    "Networks": "NETWORKS",
    "LocalVolumes": "LOCAL VOLUMES",
}
IMAGE_HEADERS = {
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "ID": "IMAGE ID",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "Digest": "DIGEST",
    "Containers": "CONTAINERS",
}


def short_id(full: str, truncate: bool = True) -> str:
    bare = full.removeprefix("sha256:")
    return bare[:12] if truncate else full


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def filters_param(specs: list[str]) -> str | None:
    """--filter key=value flags as the API's JSON `filters`."""
    if not specs:
        return None
    import json

    filters: dict[str, list[str]] = {}
    for spec in specs:
        key, _, value = spec.partition("=")
        filters.setdefault(key.strip(), []).append(value)
    return json.dumps(filters)


def _created_at(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def _ports(ports: list[dict[str, Any]]) -> str:
    shown = []
    for port in ports or ():
        private = f"{port.get('PrivatePort')}/{port.get('Type', 'tcp')}"
        if port.get("PublicPort"):
            shown.append(f"{port.get('IP', '0.0.0.0')}:{port['PublicPort']}->{private}")
        else:
            shown.append(private)
    return ", ".join(shown)


def container_row(
    summary: dict[str, Any], *, truncate: bool = True, now: float | None = None
) -> dict[str, str]:
    now = time.time() if now is None else now
    names = [n.lstrip("/") for n in summary.get("Names") or ()]
    if truncate:
        names = [n for n in names if "/" not in n]
    command = summary.get("Command", "")
    image = summary.get("Image", "")
    if truncate and image.startswith("sha256:"):
        image = short_id(image)
    size = ""
    if "SizeRw" in summary or "SizeRootFs" in summary:
        written, total = summary.get("SizeRw") or 0, summary.get("SizeRootFs") or 0
        size = f"{human_size_precision(written, 3)} (virtual {human_size_precision(total, 3)})"
    labels = summary.get("Labels") or {}
    networks = (summary.get("NetworkSettings") or {}).get("Networks") or {}
    return {
        "Command": f'"{ellipsis(command, 20) if truncate else command}"',
        "CreatedAt": _created_at(summary.get("Created", 0)),
        "ID": short_id(summary["Id"], truncate),
        "Image": image,
        "Labels": ",".join(f"{k}={v}" for k, v in labels.items()),
        "LocalVolumes": str(
            sum(1 for m in summary.get("Mounts") or () if m.get("Type") == "volume")
        ),
        "Mounts": ",".join(
            m.get("Name") or m.get("Source", "") for m in summary.get("Mounts") or ()
        ),
        "Names": ",".join(names),
        "Networks": ",".join(networks),
        "Ports": _ports(summary.get("Ports") or []),
        "RunningFor": since(summary.get("Created", 0), now),
        "Size": size,
        "State": summary.get("State", ""),
        "Status": summary.get("Status", ""),
    }


def image_rows(
    summary: dict[str, Any], *, truncate: bool = True, now: float | None = None
) -> list[dict[str, str]]:
    """One row per tag (a dangling image is one `<none>:<none>` row)."""
    now = time.time() if now is None else now
    tags = summary.get("RepoTags") or ["<none>:<none>"]
    digests = summary.get("RepoDigests") or []
    rows = []
    for tag in tags:
        repo, _, name = tag.rpartition(":")
        digest = next((d.partition("@")[2] for d in digests if d.startswith(repo + "@")), "<none>")
        rows.append(
            {
                "Containers": "N/A"
                if summary.get("Containers", -1) < 0
                else str(summary["Containers"]),
                "CreatedAt": _created_at(summary.get("Created", 0)),
                "CreatedSince": since(summary.get("Created", 0), now),
                "Digest": digest,
                "ID": short_id(summary["Id"], truncate),
                "Repository": repo,
                "Size": human_size_precision(summary.get("Size", 0), 3),
                "Tag": name,
            }
        )
    return rows
