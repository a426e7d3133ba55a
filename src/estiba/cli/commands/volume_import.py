"""`estiba volume import VOLUME [file.tar|-]`: a tar's contents into a volume, made when
missing; entries that would land outside it are refused."""

from __future__ import annotations

import argparse
import os
import sys

from estiba.cli.base import Context
from estiba.cli.client import quote
from estiba.errors import InvalidArgument


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--input", default=None, help="Read from a tar archive file, instead of STDIN")
    parser.add_argument("name", metavar="VOLUME")
    parser.add_argument("file", nargs="?", default=None, metavar="FILE|-")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    source = args.input or args.file or "-"
    headers = {"Content-Type": "application/x-tar"}
    if source == "-":
        body = sys.stdin.buffer
    else:
        try:
            body = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise InvalidArgument(f"open {source}: {(exc.strerror or str(exc)).lower()}") from exc
        headers["Content-Length"] = str(os.fstat(body.fileno()).st_size)
    try:
        response = ctx.client.open("PUT", f"/estiba/volumes/{quote(args.name)}/import", None, body, headers)
        response.read()
        response.close()
    finally:
        if body is not sys.stdin.buffer:
            body.close()
    return 0
