"""`estiba network prune`: remove every custom network no container uses, after docker's
question."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context

WARNING = (
    "WARNING! This will remove all custom networks not used by at least one container.\n"
    "Are you sure you want to continue?"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--filter", action="append", default=[], help='Provide filter values (e.g. "until=<timestamp>")')
    parser.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.pruning import confirm, prune_filters

    if not args.force and not confirm(ctx, WARNING):
        return 0
    answer = ctx.client.post("/networks/prune", filters=prune_filters(args.filter)) or {}
    deleted = answer.get("NetworksDeleted") or []
    if deleted:
        ctx.out("Deleted Networks:\n" + "".join(f"{name}\n" for name in deleted).rstrip("\n"))
    return 0
