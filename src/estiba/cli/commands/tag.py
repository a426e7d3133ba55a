"""`estiba tag`: give an image another name."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    parser.add_argument("target", metavar="TARGET_IMAGE[:TAG]")


def split_reference(ref: str) -> tuple[str, str]:
    """ "repo:tag" -> (repo, tag); a port in the registry host is not a tag."""
    name, _, digest = ref.partition("@")
    repo, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        return name, "latest" if not digest else ""
    return repo, tag


def execute(ctx: Context, args: argparse.Namespace) -> int:
    repo, tag = split_reference(args.target)
    ctx.client.post(f"/images/{quote_ref(args.source)}/tag", repo=repo, tag=tag)
    return 0
