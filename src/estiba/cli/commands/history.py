"""`estiba history` (and `estiba image history`): an image's steps, newest first, in
docker's columns (-H/--human, --no-trunc, -q, --format)."""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from typing import Any

from estiba.cli.base import Context, UsageError
from estiba.cli.client import quote_ref

DEFAULT_FORMAT = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
NON_HUMAN_FORMAT = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
HEADERS = {
    "ID": "IMAGE",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "CreatedBy": "CREATED BY",
    "Size": "SIZE",
    "Comment": "COMMENT",
}
# Before this, docker shows no "... ago" (a zero or made-up creation time).
_EPOCH = 946684800  # 2000-01-01T00:00:00Z
_TRUE, _FALSE = {"1", "t", "true"}, {"0", "f", "false"}


class _GoBool(argparse.Action):
    """A bool flag that also takes `=false`, as Go's flags do (`-H=false`). Without `=`,
    the next word is the image, not a value: `history -H busybox`."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        if values is None or values.lower() in _TRUE:
            setattr(namespace, self.dest, True)
        elif values.lower() in _FALSE:
            setattr(namespace, self.dest, False)
        else:
            setattr(namespace, self.dest, True)
            namespace.stray = [*getattr(namespace, "stray", []), values]


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a(
        "-H",
        "--human",
        action=_GoBool,
        nargs="?",
        default=True,
        metavar="",
        help="Print sizes and dates in human readable format (default true)",
    )
    a("--no-trunc", action="store_true", help="Don't truncate output")
    a("-q", "--quiet", action="store_true", help="Only show image IDs")
    a("--format", default=None, help="Format output using a custom template")
    a("--platform", default=None, help="Show history for the given platform")
    a("image", nargs="?", default=None, metavar="IMAGE")
    parser.set_defaults(stray=[], command_name=getattr(parser, "command", "history"))


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.format import Template, render_rows

    images = [*args.stray, *([args.image] if args.image else [])]
    if len(images) != 1:
        raise UsageError(f'"{args.command_name}" requires exactly 1 argument.', args.command_name)
    items = ctx.client.get(f"/images/{quote_ref(images[0])}/history", platform=args.platform)
    now = time.time()
    rows = [history_row(item, human=args.human, truncate=not args.no_trunc, now=now)
            for item in items or ()]  # fmt: skip
    template = Template(_format(args), HEADERS)
    ctx.stdout.write(render_rows(template, rows))
    return 0


def _format(args: argparse.Namespace) -> str:
    if args.format and args.format != "table":
        return "{{json .}}" if args.format == "json" else args.format
    if args.quiet:
        return "{{.ID}}"
    return DEFAULT_FORMAT if args.human else NON_HUMAN_FORMAT


def history_row(item: dict[str, Any], *, human: bool, truncate: bool, now: float) -> dict[str, str]:
    """One HistoryResponseItem as docker's history formatter shows it."""
    from estiba.cli.listing import ellipsis, short_id
    from estiba.cli.units import human_size_precision, since

    created = int(item.get("Created") or 0)
    created_at = rfc3339_local(created)
    if not human:
        created_since = created_at
    else:
        created_since = since(created, now) if created > _EPOCH else ""
    created_by = str(item.get("CreatedBy") or "").replace("\t", " ")
    size = int(item.get("Size") or 0)
    image_id = str(item.get("Id") or "")
    return {
        "Comment": str(item.get("Comment") or ""),
        "CreatedAt": created_at,
        "CreatedBy": ellipsis(created_by, 45) if truncate else created_by,
        "CreatedSince": created_since,
        "ID": short_id(image_id) if truncate else image_id,
        "Size": human_size_precision(size, 3) if human else str(size),
    }


def rfc3339_local(timestamp: int) -> str:
    """Go's time.Unix(t, 0).Format(time.RFC3339): local time, "Z" when that is UTC."""
    moment = datetime.fromtimestamp(timestamp).astimezone()
    offset = moment.utcoffset()
    if not offset:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = moment.strftime("%z")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f"{text[:3]}:{text[3:]}"
