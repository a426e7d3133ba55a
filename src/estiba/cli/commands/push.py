"""`estiba push`: an image (or, with -a / no tag, every local tag) to its registry."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-a", "--all-tags", action="store_true", help="Push all tags of an image to the repository")
    a("-q", "--quiet", action="store_true", help="Suppress verbose output")
    a("name", metavar="NAME[:TAG]")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.client import iter_json, quote_ref
    from estiba.cli.commands._transfer import auth_header, show
    from estiba.cli.commands.pull import split_name
    from estiba.errors import InvalidArgument

    repo, tag = split_name(args.name)
    if tag.startswith("sha256:"):
        raise InvalidArgument(f"cannot push a digest reference: {args.name}")
    if args.all_tags and tag:
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    if not args.all_tags and not tag:
        tag = "latest"
        if not args.quiet:
            ctx.out("Using default tag: latest")
    response = ctx.client.open(
        "POST", f"/images/{quote_ref(repo)}/push", {"tag": tag or None}, None, auth_header(repo)
    )
    aux = show(ctx, iter_json(response), quiet=args.quiet)
    if args.quiet:
        for item in aux:
            ctx.out(f"{repo}:{item.get('Tag', '')}@{item.get('Digest', '')}")
    return 0
