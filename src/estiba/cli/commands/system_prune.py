"""`estiba system prune`: stopped containers, unused networks, dangling (with -a: unused)
images and the build cache, after docker's warning; then the total freed."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.errors import InvalidArgument

_SHOWN_FILTERS = ("label", "label!", "until")


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-a", "--all", action="store_true", help="Remove all unused images not just dangling ones")
    a(
        "--filter",
        action="append",
        default=[],
        help='Provide filter values (e.g. "label=<key>=<value>")',
    )
    a("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    a("--volumes", action="store_true", help="Prune anonymous volumes")


def warning(*, all_unused: bool, volumes: bool, filters: list[str]) -> str:
    """docker's confirmation text, filters listed as it lists them."""
    removed = ["all stopped containers", "all networks not used by at least one container"]
    if volumes:
        removed.append("all anonymous volumes not used by at least one container")
    if all_unused:
        removed += ["all images without at least one container associated to them"]
        removed += ["all build cache"]
    else:
        removed += ["all dangling images", "unused build cache"]
    text = "WARNING! This will remove:" + "".join(f"\n  - {item}" for item in removed) + "\n"
    shown = sorted(f for f in filters if f.partition("=")[0].strip() in _SHOWN_FILTERS)
    if shown:
        text += "\n  Items to be pruned will be filtered with:"
        text += "".join(f"\n  - {item}" for item in shown) + "\n"
    return text + "\nAre you sure you want to continue?"


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.commands.image_prune import prune_images
    from estiba.cli.pruning import confirm, container_report, prune_filters, total_line

    if args.volumes and any(f.partition("=")[0].strip() == "until" for f in args.filter):
        raise InvalidArgument('ERROR: The "until" filter is not supported with "--volumes"')
    message = warning(all_unused=args.all, volumes=args.volumes, filters=args.filter)
    if not args.force and not confirm(ctx, message):
        return 0
    filters = prune_filters(args.filter)
    reports = [container_report(ctx.client.post("/containers/prune", filters=filters))]
    networks = ctx.client.post("/networks/prune", filters=filters) or {}
    reports.append(_listed("Deleted Networks:", networks.get("NetworksDeleted"), 0))
    if args.volumes:
        from estiba.cli.commands.volume_prune import prune_volumes

        reports.append(prune_volumes(ctx, args.filter, all_unused=False))
    reports.append(prune_images(ctx, args.filter, all_unused=args.all))
    cache = ctx.client.post("/build/prune", filters=filters, all=args.all or None) or {}
    caches, freed = cache.get("CachesDeleted"), cache.get("SpaceReclaimed")
    reports.append(_listed("Deleted build cache objects:", caches, freed))
    for text, _ in reports:
        if text:
            ctx.out(text)
    ctx.out(total_line(sum(reclaimed for _, reclaimed in reports)))
    return 0


def _listed(title: str, names: list[str] | None, reclaimed: int | None) -> tuple[str, int]:
    if not names:
        return "", 0
    return title + "\n" + "".join(f"{name}\n" for name in names), int(reclaimed or 0)
