"""`estiba image bootstrap busybox|debian[:suite]`: make an image without a registry."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context

_DURATION = {"busybox": "a second", "debian": "about 40 s"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="busybox|debian[:SUITE]")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    repo = args.name.partition(":")[0]
    if repo in _DURATION:
        ctx.stderr.write(f"Bootstrapping {args.name} ({_DURATION[repo]})...\n")
        ctx.stderr.flush()
    result = ctx.client.post("/estiba/images/bootstrap", name=args.name)
    for tag in result.get("RepoTags") or []:
        ctx.out(f"Tagged {tag}")
    ctx.out(result["Id"])
    return 0
