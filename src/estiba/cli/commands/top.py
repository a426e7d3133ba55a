"""`estiba top`: the processes of a running container, as a table."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("ps_args", nargs=argparse.REMAINDER, metavar="ps OPTIONS")


# docker top's tabwriter: columns at least 20 wide, 3 spaces of padding.
_MIN_WIDTH, _PADDING = 20, 3


def execute(ctx: Context, args: argparse.Namespace) -> int:
    params = {"ps_args": " ".join(args.ps_args)} if args.ps_args else {}
    top = ctx.client.call("GET", f"/containers/{quote_ref(args.container)}/top", params)
    ctx.stdout.write(render([top["Titles"], *(top.get("Processes") or [])]))
    return 0


def render(rows: list[list[str]], min_width: int = _MIN_WIDTH) -> str:
    """The rows aligned as docker top aligns them (compose's top: columns at least 5
    wide); the last cell is not padded."""
    widths: dict[int, int] = {}
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell) + _PADDING, min_width)
    lines = ["".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + (row[-1] if row else "")
             for row in rows]
    return "".join(line + "\n" for line in lines)
