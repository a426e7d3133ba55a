"""`estiba pull`: an image (or, with -a, every tag of a repository) from a registry."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-a", "--all-tags", action="store_true", help="Download all tagged images in the repository")
    a("-q", "--quiet", action="store_true", help="Suppress verbose output")
    a("--platform", default="", help="Set platform if server is multi-platform capable")
    a("name", metavar="NAME[:TAG|@DIGEST]")


def split_name(name: str) -> tuple[str, str]:
    """`repo:tag` / `repo@digest` -> (repo, tag or digest); a registry port is no tag."""
    if "@" in name:
        repo, _, digest = name.partition("@")
        return repo, digest
    repo, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        return name, ""
    return repo, tag


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.client import iter_json
    from estiba.cli.commands._transfer import auth_header, show
    from estiba.errors import InvalidArgument

    repo, tag = split_name(args.name)
    if args.all_tags and tag:
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    if not args.all_tags and not tag:
        tag = "latest"
        if not args.quiet:
            ctx.out("Using default tag: latest")
    params = {"fromImage": repo, "tag": tag, "platform": args.platform or None}
    response = ctx.client.open("POST", "/images/create", params, None, auth_header(repo))
    show(ctx, iter_json(response), quiet=args.quiet)
    if args.quiet or not args.all_tags:
        shown = args.name if ":" in args.name.rpartition("/")[2] or "@" in args.name else (
            f"{repo}:{tag}" if tag else repo
        )
        if args.quiet:
            ctx.out(shown)
        else:
            ctx.out(_canonical(shown))
    return 0


def _canonical(name: str) -> str:
    """docker prints the full name after a pull: docker.io/library/busybox:latest."""
    first, slash, _ = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return name
    return f"docker.io/{name}" if slash else f"docker.io/library/{name}"
