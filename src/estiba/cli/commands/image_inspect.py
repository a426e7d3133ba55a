"""`estiba image inspect`: images' full documents, or a Go template of them."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.commands import inspect


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", default=None, help="Format output using a Go template")
    parser.add_argument("names", nargs="+", metavar="IMAGE")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    return inspect.execute(ctx, argparse.Namespace(**vars(args), type="image", size=False))
