"""`estiba logs`: a container's output so far, and as it comes with -f."""

from __future__ import annotations

import argparse
import sys
import time

from estiba.cli.base import Context
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-f", "--follow", action="store_true", help="Follow log output")
    a(
        "-n",
        "--tail",
        default="all",
        help='Number of lines to show from the end of the logs (default "all")',
    )
    a("-t", "--timestamps", action="store_true", help="Show timestamps")
    a("--since", default=None, help="Show logs since timestamp or relative (e.g. 42m)")
    a("--until", default=None, help="Show logs before a timestamp or relative (e.g. 42m)")
    a("container", metavar="CONTAINER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.client import STDERR, demux
    from estiba.cli.units import parse_timestamp

    path = f"/containers/{quote_ref(args.container)}"
    tty = bool(ctx.client.get(f"{path}/json")["Config"].get("Tty"))
    now = time.time()
    params = {
        "stdout": True,
        "stderr": True,
        "follow": args.follow,
        "tail": args.tail,
        "timestamps": args.timestamps,
        "since": parse_timestamp(args.since, now) if args.since else None,
        "until": parse_timestamp(args.until, now) if args.until else None,
    }
    response = ctx.client.open("GET", f"{path}/logs", params)
    out, err = sys.stdout.buffer, sys.stderr.buffer
    ctx.stdout.flush()
    try:
        if tty:
            while data := response.read1(65536):
                out.write(data)
                out.flush()
        else:
            for stream, data in demux(response.read):
                target = err if stream == STDERR else out
                target.write(data)
                target.flush()
    finally:
        response.close()
    return 0
