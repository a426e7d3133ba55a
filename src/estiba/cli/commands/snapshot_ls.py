"""`estiba snapshot ls CONTAINER`: a container's snapshots with their time and size."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote_ref

DEFAULT_FORMAT = "table {{.Name}}\t{{.Created}}\t{{.Size}}\t{{.Volumes}}"
HEADERS = {"Name": "NAME", "Created": "CREATED", "Size": "SIZE", "Volumes": "VOLUMES"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="Only show snapshot names")
    parser.add_argument("--format", default=None, help="Format output using a custom template")
    parser.add_argument("container", metavar="CONTAINER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.format import Template, render_rows
    from estiba.cli.units import human_size

    found = ctx.client.get(f"/estiba/containers/{quote_ref(args.container)}/snapshots") or []
    if args.quiet and not args.format:
        for snapshot in found:
            ctx.out(snapshot["Name"])
        return 0
    rows = [{**s, "Size": human_size(s.get("Size") or 0), "Volumes": ",".join(s.get("Volumes") or [])}
            for s in found]
    text = "{{json .}}" if args.format == "json" else (args.format or DEFAULT_FORMAT)
    ctx.stdout.write(render_rows(Template(text, HEADERS), rows))
    return 0
