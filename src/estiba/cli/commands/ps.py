"""`estiba ps`: list containers as docker does (table, -q, --format templates)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context

TYPE_CHECKING = False  # typing costs the CLI milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any

DEFAULT_FORMAT = (
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
)


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    a("-q", "--quiet", action="store_true", help="Only display container IDs")
    a("-s", "--size", action="store_true", help="Display total file sizes")
    a(
        "-n",
        "--last",
        type=int,
        default=-1,
        help="Show n last created containers (includes all states)",
    )
    a(
        "-l",
        "--latest",
        action="store_true",
        help="Show the latest created container (includes all states)",
    )
    a("--no-trunc", action="store_true", help="Don't truncate output")
    a(
        "-f",
        "--filter",
        action="append",
        default=[],
        help="Filter output based on conditions provided",
    )
    a("--format", default=None, help="Format output using a custom template")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.listing import container_row, filters_param

    limit = 1 if args.latest else args.last
    params = {
        "all": args.all,
        "size": args.size,
        "limit": limit if limit > 0 else None,
        "filters": filters_param(args.filter),
    }
    summaries = ctx.client.call("GET", "/containers/json", params) or []
    if args.quiet and not args.format:
        for summary in summaries:
            ctx.out(summary["Id"] if args.no_trunc else summary["Id"][:12])
        return 0
    rows = [{**container_row(s, truncate=not args.no_trunc), **size_column(s)} for s in summaries]
    text = args.format or (DEFAULT_FORMAT + ("\t{{.Size}}" if args.size else ""))
    if text == "json":
        text = "{{json .}}"
    _print(ctx, text, rows)
    return 0


def size_column(summary: dict[str, Any]) -> dict[str, str]:
    """docker's SIZE: the writable layer, and "(virtual ...)" with the image, 3 digits."""
    from estiba.cli.units import human_size_precision

    if "SizeRw" not in summary and "SizeRootFs" not in summary:
        return {}
    written = human_size_precision(summary.get("SizeRw") or 0, 3)
    total = summary.get("SizeRootFs") or 0
    return {"Size": f"{written} (virtual {human_size_precision(total, 3)})" if total > 0 else written}


def _print(ctx: Context, text: str, rows: list[dict[str, str]]) -> None:
    from estiba.cli.format import Template, render_rows
    from estiba.cli.listing import CONTAINER_HEADERS

    template = Template(text, CONTAINER_HEADERS)
    ctx.stdout.write(render_rows(template, rows))
