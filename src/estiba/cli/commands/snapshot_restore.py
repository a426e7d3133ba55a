"""`estiba snapshot restore [--force] CONTAINER NAME`: files and configuration back as they
were (`lxc restore`); a running container only with --force (stopped, then started)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote, quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Stop a running container, restore, start it")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("name", metavar="NAME")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    path = f"/estiba/containers/{quote_ref(args.container)}/snapshots/{quote(args.name)}/restore"
    ctx.client.post(path, force=args.force or None)
    return 0
