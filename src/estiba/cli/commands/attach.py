"""`estiba attach`: this terminal's stdio to a running container's, until it exits."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-stdin", action="store_true", help="Do not attach STDIN")
    parser.add_argument("container", metavar="CONTAINER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.attaching import attach_container
    from estiba.errors import Conflict

    state = ctx.client.get(f"/containers/{quote_ref(args.container)}/json")
    if not state["State"].get("Running"):
        raise Conflict("You cannot attach to a stopped container, start it first")
    config = state["Config"]
    stdin = bool(config.get("OpenStdin")) and not args.no_stdin
    code = attach_container(ctx, state["Id"], tty=bool(config.get("Tty")), stdin=stdin, start=False)
    return 0 if code is None else code
