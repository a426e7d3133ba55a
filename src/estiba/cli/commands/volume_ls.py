"""`estiba volume ls`: volumes as docker lists them (table, -q, --format, filters dangling,
driver, label, name)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context

DEFAULT_FORMAT = "table {{.Driver}}\t{{.Name}}"
HEADERS = {"Driver": "DRIVER", "Name": "VOLUME NAME", "Mountpoint": "MOUNTPOINT",
           "Labels": "LABELS", "Scope": "SCOPE", "CreatedAt": "CREATED"}


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-q", "--quiet", action="store_true", help="Only display volume names")
    a("-f", "--filter", action="append", default=[], help="Provide filter values (e.g. \"dangling=true\")")
    a("--format", default=None, help="Format output using a custom template")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.format import Template, render_rows
    from estiba.cli.listing import filters_param

    answer = ctx.client.get("/volumes", filters=filters_param(list(args.filter))) or {}
    volumes = sorted(answer.get("Volumes") or [], key=lambda v: v.get("Name", ""))
    if args.quiet and not args.format:
        for volume in volumes:
            ctx.out(volume["Name"])
        return 0
    rows = [
        {**v, "Labels": ",".join(f"{k}={val}" for k, val in sorted((v.get("Labels") or {}).items()))}
        for v in volumes
    ]
    text = args.format or DEFAULT_FORMAT
    if text == "json":
        text = "{{json .}}"
    ctx.stdout.write(render_rows(Template(text, HEADERS), rows))
    return 0
