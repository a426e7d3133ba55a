"""`estiba compose top`: the processes of each running container of the services, one
table per container under its name, as compose v2 prints them."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE")


# compose's tabwriter: columns at least 5 wide (docker top's are 20), padding 3.
_MIN_WIDTH = 5


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.commands.top import render
    from estiba.compose.targets import scope

    found = scope(ctx, args.services)
    for container in found.containers(args.services, stopped=False):
        top = ctx.client.get(f"/containers/{container['Id']}/top")
        ctx.out(container["Names"][0].lstrip("/"))
        ctx.stdout.write(render([top["Titles"], *(top.get("Processes") or [])], _MIN_WIDTH))
        ctx.out()
    return 0
