"""`estiba start`: start stopped containers, or one attached with -a (and -i)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, UsageError, for_each
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-a", "--attach", action="store_true", help="Attach STDOUT/STDERR and forward signals"
    )
    parser.add_argument("-i", "--interactive", action="store_true", help="Attach container's STDIN")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    if args.attach or args.interactive:
        if len(args.containers) > 1:
            raise UsageError("you cannot start and attach multiple containers at once", "start")
        from estiba.cli.attaching import attach_container

        ref = args.containers[0]
        tty = bool(ctx.client.get(f"/containers/{quote_ref(ref)}/json")["Config"]["Tty"])
        code = attach_container(ctx, ref, tty=tty, stdin=args.interactive, start=True)
        return 0 if code is None else code
    return for_each(
        ctx, args.containers, lambda ref: ctx.client.post(f"/containers/{quote_ref(ref)}/start")
    )
