"""`estiba search`: repositories matching a term (Docker Hub, or a registry's catalog
for `host:port/term`)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-f", "--filter", action="append", default=[], help="Filter output based on conditions")
    a("--limit", type=int, default=25, help="Max number of search results")
    a("--no-trunc", action="store_true", help="Don't truncate output")
    a("--format", default="", help="Pretty-print search using a Go template")
    a("term", metavar="TERM")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.commands._transfer import auth_header

    filters: dict[str, list[str]] = {}
    for spec in args.filter:
        key, _, value = spec.partition("=")
        filters.setdefault(key, []).append(value)
    response = ctx.client.open(
        "GET",
        "/images/search",
        {"term": args.term, "limit": args.limit, "filters": filters or None},
        None,
        auth_header(args.term),
    )
    import json

    results = json.loads(response.read() or b"[]")
    response.close()
    if args.format:
        for item in results:
            ctx.out(args.format.replace("{{.Name}}", item.get("name", "")))
        return 0
    rows = [("NAME", "DESCRIPTION", "STARS", "OFFICIAL", "AUTOMATED")]
    for item in results:
        description = item.get("description") or ""
        if not args.no_trunc and len(description) > 45:
            description = description[:44] + "…"
        rows.append(
            (
                item.get("name", ""),
                description,
                str(item.get("star_count", 0)),
                "[OK]" if item.get("is_official") else "",
                "[OK]" if item.get("is_automated") else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        ctx.out("   ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0
