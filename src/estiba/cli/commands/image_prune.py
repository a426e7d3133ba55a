"""`estiba image prune`: remove dangling images, or with -a every image no container uses;
with `--keep N` (beyond docker: docker/cli#625) keep only the N newest images of each
repository, and with `--until` only what was created before then."""

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

KEEP_WARNING = (
    "WARNING! This will remove all but the {n} most recent images of each repository.\n"
    "Are you sure you want to continue?"
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
    parser.add_argument(
        "--keep", type=int, default=None, metavar="N",
        help="Keep the N most recent images of each repository, remove older ones",
    )  # fmt: skip
    parser.add_argument(
        "--until", default=None, help="Only remove images created before this timestamp"
    )


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.pruning import confirm, total_line

    from estiba.errors import InvalidArgument

    specs = list(args.filter)
    if args.until:
        specs.append(f"until={args.until}")
    if args.keep is not None:
        if args.keep < 0:
            raise InvalidArgument(f"invalid --keep {args.keep}: give 0 or more")
        warning = KEEP_WARNING.format(n=args.keep)
        if not args.force and not confirm(ctx, warning):
            return 0
        text, reclaimed = keep_newest(ctx, specs, args.keep)
    else:
        if not args.force and not confirm(ctx, ALL_WARNING if args.all else DANGLING_WARNING):
            return 0
        text, reclaimed = prune_images(ctx, specs, all_unused=args.all)
    if text:
        ctx.out(text)
    ctx.out(total_line(reclaimed))
    return 0


def prune_images(ctx: Context, specs: list[str], *, all_unused: bool) -> tuple[str, int]:
    """`POST /images/prune` with docker's dangling= filter; the report and bytes freed."""
    from estiba.cli.pruning import image_report, prune_filters

    filters = prune_filters(specs, dangling="false" if all_unused else "true")
    return image_report(ctx.client.post("/images/prune", filters=filters))


def keep_newest(ctx: Context, specs: list[str], keep: int) -> tuple[str, int]:
    """`POST /images/prune` with estiba's keep= filter: per repository, the newest N stay."""
    from estiba.cli.pruning import image_report, prune_filters

    filters = prune_filters(specs, keep=str(keep))
    return image_report(ctx.client.post("/images/prune", filters=filters))
