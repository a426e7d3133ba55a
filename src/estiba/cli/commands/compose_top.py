"""`estiba compose top`: the processes of each running container of the services, one
table per container under its name, as compose v2 prints them."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE")


# compose's tabwriter: minimum width 5, padding 3; the last cell is not padded.
_MIN_WIDTH, _PADDING = 5, 3


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.compose.targets import scope

    found = scope(ctx, args.services)
    for container in found.containers(args.services, stopped=False):
        top = ctx.client.get(f"/containers/{container['Id']}/top")
        ctx.out(container["Names"][0].lstrip("/"))
        ctx.stdout.write(render([top["Titles"], *(top.get("Processes") or [])]))
        ctx.out()
    return 0


def render(rows: list[list[str]]) -> str:
    widths: dict[int, int] = {}
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell) + _PADDING, _MIN_WIDTH)
    return "".join(
        "".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + (row[-1] if row else "") + "\n"
        for row in rows
    )
