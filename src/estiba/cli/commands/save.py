"""`estiba save`: images as a docker-archive tar, to a file (-o) or a redirected stdout."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, BinaryIO

from estiba.cli.base import Context
from estiba.errors import InvalidArgument


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default=None, help="Write to a file, instead of STDOUT")
    parser.add_argument("images", nargs="+", metavar="IMAGE")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    refuse_terminal(args.output)
    response = ctx.client.open("GET", "/images/get", {"names": list(args.images)})
    write_archive(ctx, response, args.output)
    return 0


def refuse_terminal(output: str | None) -> None:
    if output is None and os.isatty(sys.stdout.fileno()):
        raise InvalidArgument(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect"
        )


def write_archive(ctx: Context, response: Any, output: str | None) -> None:
    """A streamed archive to stdout or, through a staging file and a rename, to `output`:
    a failed transfer leaves no half archive behind."""
    try:
        if output is None:
            ctx.stdout.flush()
            _copy(response, sys.stdout.buffer)
            return
        staging = f"{output}.partial"
        try:
            with open(staging, "wb") as target:
                _copy(response, target)
            os.replace(staging, output)
        except BaseException:
            if os.path.exists(staging):
                os.unlink(staging)
            raise
    finally:
        response.close()


def _copy(response: Any, target: BinaryIO) -> None:
    while chunk := response.read1(1 << 16):
        target.write(chunk)
    target.flush()
