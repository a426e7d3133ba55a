"""`estiba import file|URL|- [REPOSITORY[:TAG]]`: a filesystem tarball as a new image
(`POST /images/create?fromSrc=`), with -c/--change and -m/--message as docker has them."""

from __future__ import annotations

import argparse
import os
import sys

from estiba.cli.base import Context
from estiba.errors import InvalidArgument, SystemFault


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a(
        "-c",
        "--change",
        action="append",
        default=[],
        help="Apply Dockerfile instruction to the created image",
    )
    a("-m", "--message", default="", help="Set commit message for imported image")
    a("--platform", default=None, help="Set platform if server is multi-platform capable")
    a("source", metavar="file|URL|-")
    a("reference", nargs="?", default=None, metavar="REPOSITORY[:TAG]")


def is_url(source: str) -> bool:
    """What docker fetches on the daemon's side rather than uploads (urlutil.IsURL)."""
    return source.startswith(("http://", "https://"))


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.client import iter_json

    params = {
        "fromSrc": args.source if is_url(args.source) else "-",
        "repo": args.reference,
        "message": args.message or None,
        "changes": list(args.change) or None,
        "platform": args.platform,
    }
    headers = {"Content-Type": "application/x-tar"}
    body = None
    if args.source == "-":
        body = sys.stdin.buffer
    elif not is_url(args.source):
        try:
            body = open(args.source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()  # Go's wording: lower case
            raise InvalidArgument(f"open {args.source}: {reason}") from exc
        headers["Content-Length"] = str(os.fstat(body.fileno()).st_size)
    try:
        response = ctx.client.open("POST", "/images/create", params, body, headers)
        for message in iter_json(response):
            if message.get("error") or message.get("errorDetail"):
                detail = message.get("errorDetail") or {}
                raise SystemFault(message.get("error") or detail.get("message", ""))
            if message.get("status"):
                ctx.out(message["status"])
            elif message.get("stream"):
                ctx.stdout.write(message["stream"])
    finally:
        if body is not None and body is not sys.stdin.buffer:
            body.close()
    return 0
