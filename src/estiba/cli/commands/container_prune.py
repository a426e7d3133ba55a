"""`estiba container prune`: remove every stopped container, after docker's question."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context

WARNING = "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        help='Provide filter values (e.g. "until=<timestamp>")',
    )
    parser.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.pruning import confirm, container_report, prune_filters, total_line

    if not args.force and not confirm(ctx, WARNING):
        return 0
    answer = ctx.client.post("/containers/prune", filters=prune_filters(args.filter))
    text, reclaimed = container_report(answer)
    if text:
        ctx.out(text)
    ctx.out(total_line(reclaimed))
    return 0
