"""`estiba compose restart`: restart the services' containers in dependency order."""

from __future__ import annotations

import argparse

from estiba.cli.commands._compose_engine import add_timeout, lifecycle


def configure(parser: argparse.ArgumentParser) -> None:
    add_timeout(parser)
    parser.add_argument("--no-deps", action="store_true", help="Don't restart dependent services")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    lifecycle(ctx).restart(args.services, args.timeout, dependents=not args.no_deps)
    return 0
