"""`estiba rmi`: untag and delete images."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, for_each
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Force removal of the image")
    parser.add_argument("--no-prune", action="store_true", help="Do not delete untagged parents")
    parser.add_argument("images", nargs="+", metavar="IMAGE")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    def remove(ref: str) -> None:
        answer = ctx.client.call(
            "DELETE", f"/images/{quote_ref(ref)}", {"force": args.force, "noprune": args.no_prune}
        )
        for item in answer or ():
            for key, label in (("Untagged", "Untagged"), ("Deleted", "Deleted")):
                if item.get(key):
                    ctx.out(f"{label}: {item[key]}")

    return for_each(ctx, args.images, remove, echo=False)
