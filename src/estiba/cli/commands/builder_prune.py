"""`estiba builder prune`: drop the build cache (and the step images only it held)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context

WARNING = "WARNING! This will remove all dangling build cache.\nAre you sure you want to continue?"
ALL_WARNING = "WARNING! This will remove all build cache.\nAre you sure you want to continue?"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="Remove all unused build cache, not just dangling ones")
    parser.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    parser.add_argument("--filter", action="append", default=[], help="Provide filter values")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.pruning import confirm, prune_filters, total_line

    if not args.force and not confirm(ctx, ALL_WARNING if args.all else WARNING):
        return 0
    report = ctx.client.post("/build/prune", filters=prune_filters(list(args.filter)), all=args.all or None) or {}
    deleted = report.get("CachesDeleted") or []
    if deleted:
        ctx.out("Deleted build cache objects:")
        for item in deleted:
            ctx.out(item)
    ctx.out(total_line(int(report.get("SpaceReclaimed") or 0)))
    return 0
