"""`estiba create`: create a container from an image and print its id."""

from __future__ import annotations

import argparse
import sys

from estiba.cli.base import Context
from estiba.cli.container_options import add_create_flags, create_body
from estiba.cli.stdio import terminal_size

TYPE_CHECKING = False  # typing costs the CLI milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any

SHORT_HELP = False  # -h is --hostname


def configure(parser: argparse.ArgumentParser) -> None:
    add_create_flags(parser)


def create_container(
    ctx: Context, body: dict[str, Any], name: str | None, platform: str | None = None
) -> str:
    """POST the body; print the daemon's warnings on stderr as docker does; the id."""
    created = ctx.client.post("/containers/create", body, name=name, platform=platform)
    for warning in created.get("Warnings") or ():
        ctx.stderr.write(f"WARNING: {warning}\n")
    return str(created["Id"])


def execute(ctx: Context, args: argparse.Namespace) -> int:
    size = terminal_size(sys.stdout.fileno()) if args.tty else None
    ctx.out(create_container(ctx, create_body(args, console_size=size), args.name, args.platform))
    return 0
