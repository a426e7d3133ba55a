"""`estiba compose create`: the project's networks, volumes and containers, not started."""

from __future__ import annotations

import argparse

from estiba.cli.commands import compose_up


def configure(parser: argparse.ArgumentParser) -> None:
    compose_up.add_convergence_flags(parser)
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    eng, services, options = compose_up.prepare(ctx, args)
    eng.create(services, options)
    return 0
