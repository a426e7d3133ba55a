"""`estiba image prune`: remove dangling images, or with -a every image no container uses."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context

ALL_WARNING = (
    "WARNING! This will remove all images without at least one container associated to them.\n"
    "Are you sure you want to continue?"
)
DANGLING_WARNING = (
    "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-a", "--all", action="store_true", help="Remove all unused images, not just dangling ones"
    )
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        help='Provide filter values (e.g. "until=<timestamp>")',
    )
    parser.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.pruning import confirm, total_line

    if not args.force and not confirm(ctx, ALL_WARNING if args.all else DANGLING_WARNING):
        return 0
    text, reclaimed = prune_images(ctx, args.filter, all_unused=args.all)
    if text:
        ctx.out(text)
    ctx.out(total_line(reclaimed))
    return 0


def prune_images(ctx: Context, specs: list[str], *, all_unused: bool) -> tuple[str, int]:
    """`POST /images/prune` with docker's dangling= filter; the report and bytes freed."""
    from estiba.cli.pruning import image_report, prune_filters

    filters = prune_filters(specs, dangling="false" if all_unused else "true")
    return image_report(ctx.client.post("/images/prune", filters=filters))
