"""`estiba save`: images as a docker-archive tar, to a file (-o) or a redirected stdout."""

from __future__ import annotations

import argparse
import os
import sys

from estiba.cli.base import Context
from estiba.errors import InvalidArgument


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default=None, help="Write to a file, instead of STDOUT")
    parser.add_argument("images", nargs="+", metavar="IMAGE")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    if args.output is None and os.isatty(sys.stdout.fileno()):
        raise InvalidArgument(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect"
        )
    response = ctx.client.open("GET", "/images/get", {"names": list(args.images)})
    try:
        if args.output is None:
            _copy(response, sys.stdout.buffer)
        else:
            # Written beside the target and renamed: a failed save leaves no half archive.
            staging = f"{args.output}.partial"
            try:
                with open(staging, "wb") as target:
                    _copy(response, target)
                os.replace(staging, args.output)
            except BaseException:
                if os.path.exists(staging):
                    os.unlink(staging)
                raise
    finally:
        response.close()
    return 0


def _copy(response, target) -> None:  # type: ignore[no-untyped-def]
    while chunk := response.read1(1 << 16):
        target.write(chunk)
    target.flush()
