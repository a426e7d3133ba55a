"""`estiba compose rm`: remove the services' stopped containers (-s stops them first),
asking first unless -f."""

from __future__ import annotations

import argparse
import sys

from estiba.cli.commands._compose_engine import lifecycle


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-f", "--force", action="store_true", help="Don't ask to confirm removal")
    a("-s", "--stop", action="store_true", help="Stop the containers, if required, before removing")
    a("-v", "--volumes", action="store_true", help="Remove any anonymous volumes attached to containers")
    a("services", nargs="*", metavar="SERVICE")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    life = lifecycle(ctx)
    found = life.removable(args.services, stop_first=args.stop)
    if not found:
        ctx.stderr.write("No stopped containers\n")
        return 0
    if not args.force:
        names = ", ".join(c["Names"][0].lstrip("/") for c in found)
        ctx.stderr.write(f"? Going to remove {names} Are you sure? [y/N] ")
        ctx.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            return 0
    life.remove(found, stop_first=args.stop, timeout=None, volumes=args.volumes)
    return 0
