"""`estiba system df`: disk used by images, containers, volumes and the build cache, in
docker's summary table (or, with -v, its per-object tables), from `GET /system/df`."""

from __future__ import annotations

import argparse
import time
from typing import Any

from estiba.cli.base import Context

DEFAULT_FORMAT = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
HEADERS = {
    "Type": "TYPE",
    "TotalCount": "TOTAL",
    "Active": "ACTIVE",
    "Size": "SIZE",
    "Reclaimable": "RECLAIMABLE",
}
IMAGE_FORMAT = (
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}"
    "\t{{.UniqueSize}}\t{{.Containers}}"
)
IMAGE_HEADERS = {
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "ID": "IMAGE ID",
    "CreatedSince": "CREATED",
    "Size": "SIZE",
    "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
    "Containers": "CONTAINERS",
}
CONTAINER_FORMAT = (
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}"
    "\t{{.Status}}\t{{.Names}}"
)
VOLUME_FORMAT = "table {{.Name}}\t{{.Links}}\t{{.Size}}"
VOLUME_HEADERS = {"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"}
CACHE_FORMAT = (
    "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}"
    "\t{{.UsageCount}}\t{{.Shared}}"
)
CACHE_HEADERS = {
    "ID": "CACHE ID",
    "CacheType": "CACHE TYPE",
    "Size": "SIZE",
    "CreatedSince": "CREATED",
    "LastUsedSince": "LAST USED",
    "UsageCount": "USAGE",
    "Shared": "SHARED",
}
_ACTIVE_STATES = ("running", "paused", "restarting")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", default=None, help="Format output using a custom template")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="Show detailed information on space usage"
    )


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.format import Template, render_rows

    usage = ctx.client.get("/system/df") or {}
    text = args.format or "table"
    if text == "json":
        text = "{{json .}}"
    if args.verbose and text == "table":
        ctx.stdout.write(verbose_text(usage, time.time()))
        return 0
    if args.verbose:
        document = verbose_rows(usage, time.time(), truncate=False)
        ctx.out(Template(text).render(document))
        return 0
    template = Template(DEFAULT_FORMAT if text == "table" else text, HEADERS)
    rows = summary_rows(usage)
    ctx.stdout.write(render_rows(template, rows))
    return 0


def _share(part: int, total: int) -> str:
    from estiba.cli.units import human_size

    if total > 0:
        return f"{human_size(part)} ({part * 100 // total}%)"
    return human_size(part)


def summary_rows(usage: dict[str, Any]) -> list[dict[str, str]]:
    """The four rows of docker's summary, computed as its CLI computes them."""
    from estiba.cli.units import human_size

    images = usage.get("Images") or []
    layers = int(usage.get("LayersSize") or 0)
    used = sum(
        i.get("Size", 0) - i.get("SharedSize", 0)
        for i in images
        if i.get("Containers") and i.get("Size", -1) != -1 and i.get("SharedSize", -1) != -1
    )
    containers = usage.get("Containers") or []
    written = sum(c.get("SizeRw") or 0 for c in containers)
    idle = [c for c in containers if str(c.get("State", "")).lower() not in _ACTIVE_STATES]
    volumes = usage.get("Volumes") or []
    volume_sizes = [(v.get("UsageData") or {}) for v in volumes]
    volume_total = sum(u.get("Size", 0) for u in volume_sizes if u.get("Size", -1) != -1)
    volume_free = sum(
        u.get("Size", 0) for u in volume_sizes if u.get("RefCount") == 0 and u.get("Size", -1) != -1
    )
    cache = usage.get("BuildCache") or []
    cache_total = sum(b.get("Size", 0) for b in cache if not b.get("Shared"))
    cache_free = sum(b.get("Size", 0) for b in cache if not b.get("Shared") and not b.get("InUse"))

    def row(kind: str, total: int, active: int, size: int, reclaimable: str) -> dict[str, str]:
        return {
            "Type": kind,
            "TotalCount": str(total),
            "Active": str(active),
            "Size": human_size(size),
            "Reclaimable": reclaimable,
        }

    return [
        row("Images", len(images), sum(1 for i in images if (i.get("Containers") or 0) > 0),
            layers, _share(layers - used, layers)),
        row("Containers", len(containers), len(containers) - len(idle), written,
            _share(sum(c.get("SizeRw") or 0 for c in idle), written)),
        row("Local Volumes", len(volumes),
            sum(1 for u in volume_sizes if (u.get("RefCount") or 0) > 0),
            volume_total, _share(volume_free, volume_total)),
        row("Build Cache", len(cache), sum(1 for b in cache if b.get("InUse")), cache_total,
            human_size(cache_free)),
    ]  # fmt: skip


def image_row(summary: dict[str, Any], now: float, truncate: bool = True) -> dict[str, str]:
    """An image in `df -v`: its first tag only, sizes shared with other images and its own."""
    from estiba.cli.listing import short_id
    from estiba.cli.units import human_size, human_size_precision, since

    tags = [t for t in summary.get("RepoTags") or () if t != "<none>:<none>"]
    repo, tag = "<none>", "<none>"
    if tags:
        repo, _, tag = tags[0].rpartition(":")
        repo = repo.removeprefix("docker.io/").removeprefix("library/")
    size, shared = int(summary.get("Size", -1)), int(summary.get("SharedSize", -1))
    containers = int(summary.get("Containers", -1))
    return {
        "Repository": repo,
        "Tag": tag,
        "ID": short_id(summary.get("Id", ""), truncate),
        "CreatedSince": since(summary.get("Created", 0), now),
        "Size": human_size_precision(size, 3),
        "SharedSize": "N/A" if shared == -1 else human_size(shared),
        "UniqueSize": "N/A" if -1 in (size, shared) else human_size(size - shared),
        "Containers": "N/A" if containers == -1 else str(containers),
    }


def container_row(summary: dict[str, Any], now: float, truncate: bool = True) -> dict[str, str]:
    """A container in `df -v`: its writable layer's size only (docker hides the virtual)."""
    from estiba.cli.listing import container_row as listed
    from estiba.cli.units import human_size_precision

    row = listed(summary, truncate=truncate, now=now)
    row["Size"] = human_size_precision(int(summary.get("SizeRw") or 0), 3)
    return row


def verbose_rows(usage: dict[str, Any], now: float, truncate: bool = True) -> dict[str, Any]:
    return {
        "Images": [image_row(i, now, truncate) for i in usage.get("Images") or ()],
        "Containers": [container_row(c, now, truncate) for c in usage.get("Containers") or ()],
        "Volumes": usage.get("Volumes") or [],
        "BuildCache": usage.get("BuildCache") or [],
    }


def verbose_text(usage: dict[str, Any], now: float) -> str:
    """docker's `system df -v`: one table per kind of object, each under its title."""
    from estiba.cli.format import Template, render_table
    from estiba.cli.listing import CONTAINER_HEADERS
    from estiba.cli.units import human_size

    rows = verbose_rows(usage, now)
    volumes = [
        {
            "Name": v.get("Name", ""),
            "Links": str((v.get("UsageData") or {}).get("RefCount", "N/A")),
            "Size": human_size((v.get("UsageData") or {}).get("Size", 0)),
        }
        for v in rows["Volumes"]
    ]
    cache_total = sum(b.get("Size", 0) for b in rows["BuildCache"] if not b.get("Shared"))
    sections = [
        ("Images space usage:\n\n", Template(IMAGE_FORMAT, IMAGE_HEADERS), rows["Images"]),
        ("\nContainers space usage:\n\n", Template(CONTAINER_FORMAT, CONTAINER_HEADERS),
         rows["Containers"]),
        ("\nLocal Volumes space usage:\n\n", Template(VOLUME_FORMAT, VOLUME_HEADERS), volumes),
        (f"\nBuild cache usage: {human_size(cache_total)}\n\n",
         Template(CACHE_FORMAT, CACHE_HEADERS), []),
    ]  # fmt: skip
    return "".join(title + render_table(template, table) for title, template, table in sections)
