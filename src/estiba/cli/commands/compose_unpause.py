"""`estiba compose unpause`: thaw the services' paused containers."""

from __future__ import annotations

import argparse

from estiba.cli.commands._compose_engine import lifecycle


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    lifecycle(ctx).pause(args.services, pause=False)
    return 0
