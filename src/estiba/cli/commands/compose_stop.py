"""`estiba compose stop`: stop the services' containers, dependents first."""

from __future__ import annotations

import argparse

from estiba.cli.commands._compose_engine import add_timeout, lifecycle


def configure(parser: argparse.ArgumentParser) -> None:
    add_timeout(parser)
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    lifecycle(ctx).stop(args.services, args.timeout)
    return 0
