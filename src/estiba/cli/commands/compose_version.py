"""`estiba compose version`: the compose command line version we follow."""

from __future__ import annotations

import argparse
import json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--short", action="store_true", help="Shows only Compose's version number")
    parser.add_argument("-f", "--format", choices=("pretty", "json"), default="pretty", help="Format the output. Values: [pretty | json]")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from estiba.compose.labels import COMPOSE_VERSION

    if args.short:
        ctx.out(COMPOSE_VERSION)
    elif args.format == "json":
        ctx.out(json.dumps({"version": f"v{COMPOSE_VERSION}"}))
    else:
        ctx.out(f"Estiba Compose version v{COMPOSE_VERSION}")
    return 0
