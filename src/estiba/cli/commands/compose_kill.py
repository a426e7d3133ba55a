"""`estiba compose kill`: send a signal (SIGKILL by default) to the running containers."""

from __future__ import annotations

import argparse

from estiba.cli.commands._compose_engine import lifecycle


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--signal", default="SIGKILL", help="SIGNAL to send to the container")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    lifecycle(ctx).kill(args.services, args.signal)
    return 0
