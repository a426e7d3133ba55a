"""`estiba logout`: forget a registry's credentials (config.json or its helper)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", nargs="?", default="", metavar="SERVER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.distribution.credentials import credential_key, erase_credentials, normalize_server
    from estiba.errors import NotFound

    domain = normalize_server(args.server)
    key = credential_key(domain)
    try:
        erase_credentials(domain)
    except NotFound:
        ctx.out(f"Not logged in to {key}")
        return 0
    ctx.out(f"Removing login credentials for {key}")
    return 0
