"""`estiba images`: list images as docker does (table, -q, --format templates)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context

DEFAULT_FORMAT = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a(
        "-a",
        "--all",
        action="store_true",
        help="Show all images (default hides intermediate images)",
    )
    a("-q", "--quiet", action="store_true", help="Only show image IDs")
    a("--no-trunc", action="store_true", help="Don't truncate output")
    a("--digests", action="store_true", help="Show digests")
    a(
        "-f",
        "--filter",
        action="append",
        default=[],
        help="Filter output based on conditions provided",
    )
    a("--format", default=None, help="Format output using a custom template")
    a("reference", nargs="?", default=None, metavar="REPOSITORY[:TAG]")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.format import Template, render_rows
    from estiba.cli.listing import IMAGE_HEADERS, filters_param, image_rows

    specs = list(args.filter) + ([f"reference={args.reference}"] if args.reference else [])
    summaries = (
        ctx.client.call("GET", "/images/json", {"all": args.all, "filters": filters_param(specs)})
        or []
    )
    if args.quiet and not args.format:
        seen: list[str] = []
        for summary in summaries:
            shown = summary["Id"] if args.no_trunc else summary["Id"].removeprefix("sha256:")[:12]
            if shown not in seen:
                seen.append(shown)
                ctx.out(shown)
        return 0
    rows = [row for s in summaries for row in image_rows(s, truncate=not args.no_trunc)]
    text = args.format or DEFAULT_FORMAT
    if args.digests and not args.format:
        text = text.replace("{{.Tag}}\t", "{{.Tag}}\t{{.Digest}}\t")
    if text == "json":
        text = "{{json .}}"
    template = Template(text, IMAGE_HEADERS)
    ctx.stdout.write(render_rows(template, rows))
    return 0
