"""`estiba inspect`: containers' or images' full documents, or a Go template of them."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, print_documents
from estiba.cli.client import quote_ref
from estiba.errors import NotFound


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", default=None, help="Format output using a Go template")
    parser.add_argument(
        "-s",
        "--size",
        action="store_true",
        help="Display total file sizes if the type is container",
    )
    parser.add_argument(
        "--type",
        choices=("container", "image"),
        default=None,
        help="Only inspect objects of the given type",
    )
    parser.add_argument("names", nargs="+", metavar="NAME|ID")


def _find(ctx: Context, name: str, kind: str | None, size: bool) -> dict:
    if kind in (None, "container"):
        try:
            return ctx.client.get(f"/containers/{quote_ref(name)}/json", size=size or None)
        except NotFound:
            if kind == "container":
                raise
    if kind in (None, "image"):
        try:
            return ctx.client.get(f"/images/{quote_ref(name)}/json")
        except NotFound:
            if kind == "image":
                raise
    raise NotFound(f"Error: No such object: {name}")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    return print_documents(ctx, args.names, lambda name: _find(ctx, name, args.type, args.size), args.format)
