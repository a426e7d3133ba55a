"""`estiba restart`: stop then start containers (stop's flags, the restart route)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, for_each
from estiba.cli.client import quote_ref
from estiba.cli.commands.stop import configure

__all__ = ["configure", "execute"]


def execute(ctx: Context, args: argparse.Namespace) -> int:
    return for_each(
        ctx,
        args.containers,
        lambda ref: ctx.client.post(
            f"/containers/{quote_ref(ref)}/restart", t=args.time, signal=args.signal
        ),
    )
