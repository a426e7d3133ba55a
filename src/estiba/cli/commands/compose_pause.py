"""`estiba compose pause`: freeze the services' running containers."""

from __future__ import annotations

import argparse

from estiba.cli.commands._compose_engine import lifecycle


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    lifecycle(ctx).pause(args.services, pause=True)
    return 0
