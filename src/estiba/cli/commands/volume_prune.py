"""`estiba volume prune`: unused anonymous volumes (with -a every unused volume), after
docker's warning; then what went and the space freed."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.errors import InvalidArgument

ANONYMOUS = "WARNING! This will remove anonymous local volumes not used by at least one container."
ALL = "WARNING! This will remove all local volumes not used by at least one container."


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-a", "--all", action="store_true", help="Remove all unused volumes, not just anonymous ones")
    a("--filter", action="append", default=[], help='Provide filter values (e.g. "label=<label>")')
    a("-f", "--force", action="store_true", help="Do not prompt for confirmation")


def prune_volumes(ctx: Context, filters: list[str], *, all_unused: bool) -> tuple[str, int]:
    """The request and its report, shared with `system prune --volumes`. The `all` filter
    is always sent: estibad then prunes as dockerd does for API 1.42 and newer."""
    from estiba.cli.pruning import prune_filters

    if any(f.partition("=")[0].strip() == "all" for f in filters):
        raise InvalidArgument("conflicting options: cannot specify both --all and --filter all=1")
    answer = ctx.client.post("/volumes/prune", filters=prune_filters(filters, all=str(all_unused).lower())) or {}
    names = answer.get("VolumesDeleted") or []
    if not names:
        return "", 0
    return "Deleted Volumes:\n" + "".join(f"{n}\n" for n in names), int(answer.get("SpaceReclaimed") or 0)


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.pruning import confirm, total_line

    if not args.force and not confirm(ctx, (ALL if args.all else ANONYMOUS) + "\nAre you sure you want to continue?"):
        return 0
    text, reclaimed = prune_volumes(ctx, args.filter, all_unused=args.all)
    if text:
        ctx.out(text)
    ctx.out(total_line(reclaimed))
    return 0
