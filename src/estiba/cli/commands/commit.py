"""`estiba commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]`: a container's changes as a new
image (-a author, -m message, -c Dockerfile instructions, -p pause, on by default)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-a", "--author", default="", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    a("-c", "--change", action="append", default=[], help="Apply Dockerfile instruction to the created image")
    a("-m", "--message", default="", help="Commit message")
    a("-p", "--pause", default=True, action=argparse.BooleanOptionalAction,
      help="Pause container during commit (default true)")
    a("container", metavar="CONTAINER")
    a("reference", nargs="?", default=None, metavar="REPOSITORY[:TAG]")


def split_reference(reference: str | None) -> tuple[str | None, str | None]:
    """repo and tag as docker sends them: the tag after the last colon of the last part."""
    if not reference:
        return None, None
    head, _, last = reference.rpartition("/")
    name, colon, tag = last.partition(":")
    repo = f"{head}/{name}" if head else name
    return repo, (tag if colon else None)


def execute(ctx: Context, args: argparse.Namespace) -> int:
    repo, tag = split_reference(args.reference)
    params = {
        "container": args.container,
        "repo": repo,
        "tag": tag,
        "comment": args.message or None,
        "author": args.author or None,
        "pause": args.pause,
        "changes": list(args.change) or None,
    }
    answer = ctx.client.call("POST", "/commit", params) or {}
    ctx.out(answer.get("Id", ""))
    return 0
