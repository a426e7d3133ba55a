"""`estiba network ls`: list networks as docker does (table, -q, --format)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context

DEFAULT_FORMAT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
HEADERS = {
    "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
    "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
}


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-f", "--filter", action="append", default=[], help='Provide filter values (e.g. "driver=bridge")')
    a("--format", default=None, help="Format output using a custom template")
    a("--no-trunc", action="store_true", help="Do not truncate the output")
    a("-q", "--quiet", action="store_true", help="Only display network IDs")


def row(network: dict, truncate: bool) -> dict[str, str]:
    labels = network.get("Labels") or {}
    return {
        "ID": network["Id"][:12] if truncate else network["Id"],
        "Name": network["Name"],
        "Driver": network["Driver"],
        "Scope": network["Scope"],
        "IPv6": str(bool(network.get("EnableIPv6"))).lower(),
        "Internal": str(bool(network.get("Internal"))).lower(),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "CreatedAt": network.get("Created", ""),
    }


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.format import Template, render_rows
    from estiba.cli.listing import filters_param

    networks = ctx.client.call("GET", "/networks", {"filters": filters_param(args.filter)}) or []
    networks.sort(key=lambda n: n["Name"])
    rows = [row(n, truncate=not args.no_trunc) for n in networks]
    if args.quiet and not args.format:
        for r in rows:
            ctx.out(r["ID"])
        return 0
    text = args.format or DEFAULT_FORMAT
    if text == "json":
        text = "{{json .}}"
    ctx.stdout.write(render_rows(Template(text, HEADERS), rows))
    return 0
