"""`estiba diff`: files changed in a container's writable layer (A added, C changed, D deleted)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote_ref

_KINDS = {0: "C", 1: "A", 2: "D"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    changes = ctx.client.get(f"/containers/{quote_ref(args.container)}/changes") or []
    for change in changes:
        ctx.out(f"{_KINDS.get(change.get('Kind'), '?')} {change.get('Path', '')}")
    return 0
