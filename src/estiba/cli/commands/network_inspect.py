"""`estiba network inspect`: networks' full documents, or a Go template of them."""

from __future__ import annotations

import argparse
import json

from estiba.cli.base import Context, ManyErrors
from estiba.cli.client import quote_ref
from estiba.errors import EstibaError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", default=None, help="Format output using a Go template")
    parser.add_argument("-v", "--verbose", action="store_true", help="Verbose output for diagnostics")
    parser.add_argument("names", nargs="+", metavar="NETWORK")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    found: list[dict] = []
    errors: list[EstibaError] = []
    for name in args.names:
        try:
            found.append(ctx.client.get(f"/networks/{quote_ref(name)}", verbose=args.verbose or None))
        except EstibaError as exc:
            errors.append(exc)
    if args.format:
        from estiba.cli.format import Template

        template = Template(args.format)
        for document in found:
            ctx.out(template.render(document))
    else:
        ctx.out(json.dumps(found, indent=4))
    if errors:
        raise errors[0] if len(errors) == 1 else ManyErrors(errors)
    return 0
