"""`estiba run`: create a container, attach to it or not, start it; exit with its code."""

from __future__ import annotations

import argparse
import sys

from estiba.cli.base import Context
from estiba.cli.container_options import add_create_flags, create_body
from estiba.cli.stdio import check_tty, terminal_size

SHORT_HELP = False  # -h is --hostname


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-d",
        "--detach",
        action="store_true",
        help="Run container in background and print container ID",
    )
    add_create_flags(parser)


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.commands.create import create_container

    check_tty(args.interactive and not args.detach, args.tty)
    size = terminal_size(sys.stdout.fileno()) if args.tty else None
    body = create_body(args, detach=args.detach, console_size=size)
    cid = create_container(ctx, body, args.name, args.platform)
    if args.detach:
        ctx.client.post(f"/containers/{cid}/start")
        ctx.out(cid)
        return 0
    from estiba.cli.attaching import attach_container

    code = attach_container(ctx, cid, tty=args.tty, stdin=args.interactive, start=True,
                            auto_remove=args.rm)
    return 0 if code is None else code
