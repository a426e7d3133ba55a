"""`estiba compose logs`: the services' containers' output, prefixed and coloured as
compose prints it; with -f until every container has stopped (or Ctrl-C)."""

from __future__ import annotations

import argparse
import threading
import time

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-f", "--follow", action="store_true", help="Follow log output")
    a("-n", "--tail", default="all", help="Number of lines to show from the end of the logs for each container")
    a("-t", "--timestamps", action="store_true", help="Show timestamps")
    a("--since", help="Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)")
    a("--until", help="Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)")
    a("--no-color", action="store_true", help="Produce monochrome output")
    a("--no-log-prefix", action="store_true", help="Don't print prefix in logs")
    a("--index", type=int, help="index of the container if service has multiple replicas")
    a("services", nargs="*", metavar="SERVICE")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.units import parse_timestamp
    from estiba.compose import labels
    from estiba.compose.logs import follow_logs, use_colour
    from estiba.compose.targets import scope

    found = scope(ctx, args.services)
    containers = found.containers(args.services)
    if args.index is not None:
        containers = [c for c in containers if labels.number_of(c) == args.index]
    now = time.time()
    stop = threading.Event()
    try:
        follow_logs(
            ctx.client, containers, out=ctx.stdout, err=ctx.stderr, follow=args.follow,
            tail=args.tail, timestamps=args.timestamps,
            colour=use_colour(ctx.options.ansi, args.no_color, ctx.stdout),
            prefix=not args.no_log_prefix,
            since=parse_timestamp(args.since, now) if args.since else None,
            until=parse_timestamp(args.until, now) if args.until else None,
            stop=stop,
        )
    except KeyboardInterrupt:
        stop.set()
        return 130
    return 0
