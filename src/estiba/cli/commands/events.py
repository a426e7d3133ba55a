"""`estiba events`: the daemon's events, live or between --since and --until."""

from __future__ import annotations

import argparse
import time
from datetime import UTC

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--since", default=None, help="Show all events created since timestamp")
    a("--until", default=None, help="Stream events until this timestamp")
    a(
        "-f",
        "--filter",
        action="append",
        default=[],
        help="Filter output based on conditions provided",
    )
    a("--format", default=None, help="Format output using a custom template")


def format_event(event: dict) -> str:
    """docker's line: `2024-01-01T00:00:00.000000000Z container create ID (k=v, ...)`."""
    from datetime import datetime

    nanos = int(event.get("timeNano") or int(event.get("time", 0)) * 10**9)
    moment = datetime.fromtimestamp(nanos // 10**9, tz=UTC)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos % 10**9:09d}Z"
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    shown = ", ".join(f"{k}={attributes[k]}" for k in sorted(attributes))
    line = f"{stamp} {event.get('Type', '')} {event.get('Action', '')} {actor.get('ID', '')}"
    return f"{line} ({shown})" if shown else line


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.client import iter_json
    from estiba.cli.listing import filters_param
    from estiba.cli.units import parse_timestamp

    now = time.time()
    params = {
        "since": parse_timestamp(args.since, now) if args.since else None,
        "until": parse_timestamp(args.until, now) if args.until else None,
        "filters": filters_param(args.filter),
    }
    template = None
    if args.format:
        from estiba.cli.format import Template

        template = Template("{{json .}}" if args.format == "json" else args.format)
    response = ctx.client.open("GET", "/events", params)
    for event in iter_json(response):
        ctx.out(template.render(event) if template else format_event(event))
        ctx.stdout.flush()
    return 0
