"""What the prune commands share (`container prune`, `image prune`, `system prune`):
docker's confirmation prompt, the reports of what went, and the closing total line.

Each `*_report` function returns the text docker prints for one prune (empty when nothing
went) and the bytes it freed, so that `system prune` can print several and add them up.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from estiba.cli.base import Context
from estiba.cli.units import human_size

TYPE_CHECKING = False  # typing costs the CLI milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import IO, Any

__all__ = [
    "confirm",
    "container_report",
    "image_report",
    "prune_filters",
    "total_line",
]


def confirm(ctx: Context, message: str, stdin: IO[str] | None = None) -> bool:
    """docker's prompt: the message and " [y/N] " on stdout, then one line of stdin; only
    "y" (any case) goes ahead. An answer of no prints nothing more (docker exits 0)."""
    ctx.stdout.write(f"{message} [y/N] ")
    ctx.stdout.flush()
    line = (stdin or sys.stdin).readline()
    return line.strip().lower() == "y"


def prune_filters(specs: Iterable[str], **fixed: str) -> str | None:
    """--filter key=value flags (plus fixed ones such as dangling=) as the API's JSON."""
    from estiba.cli.listing import filters_param

    return filters_param([*specs, *(f"{key}={value}" for key, value in fixed.items())])


def container_report(answer: dict[str, Any] | None) -> tuple[str, int]:
    deleted = (answer or {}).get("ContainersDeleted") or []
    if not deleted:
        return "", 0
    text = "Deleted Containers:\n" + "".join(f"{cid}\n" for cid in deleted)
    return text, int((answer or {}).get("SpaceReclaimed") or 0)


def image_report(answer: dict[str, Any] | None) -> tuple[str, int]:
    items = (answer or {}).get("ImagesDeleted") or []
    if not items:
        return "", 0
    lines = [
        f"untagged: {item['Untagged']}"
        if item.get("Untagged")
        else f"deleted: {item.get('Deleted', '')}"
        for item in items
    ]
    text = "Deleted Images:\n" + "".join(f"{line}\n" for line in lines)
    return text, int((answer or {}).get("SpaceReclaimed") or 0)


def total_line(reclaimed: int) -> str:
    return f"Total reclaimed space: {human_size(reclaimed)}"
