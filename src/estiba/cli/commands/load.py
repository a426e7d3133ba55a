"""`estiba load`: images from a docker-archive tar (a file with -i, or stdin)."""

from __future__ import annotations

import argparse
import os
import sys

from estiba.cli.base import Context
from estiba.errors import InvalidArgument, SystemFault


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i", "--input", default=None, help="Read from tar archive file, instead of STDIN"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="Suppress the load output")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    if args.input is None:
        if os.isatty(sys.stdin.fileno()):
            raise InvalidArgument(
                "requested load from stdin, but stdin is empty", hint="use -i FILE or redirect"
            )
        source = sys.stdin.buffer
        size = None
    else:
        try:
            source = open(args.input, "rb")
        except OSError as exc:
            raise InvalidArgument(f"open {args.input}: {exc.strerror}") from exc
        size = os.fstat(source.fileno()).st_size
    headers = {"Content-Type": "application/x-tar"}
    if size is not None:
        headers["Content-Length"] = str(size)
    progress = None
    try:
        response = ctx.client.open("POST", "/images/load", {"quiet": args.quiet}, source, headers)
        from estiba.cli.client import iter_json

        for message in iter_json(response):
            if message.get("error") or message.get("errorDetail"):
                raise SystemFault(message.get("error") or message["errorDetail"].get("message", ""))
            if message.get("progressDetail") and not args.quiet and sys.stdout.isatty():
                progress = progress or _Progress()
                progress.update(message)
            elif message.get("stream") and not args.quiet:
                ctx.stdout.write(message["stream"])
    finally:
        if progress is not None:
            progress.close()
        if source is not sys.stdin.buffer:
            source.close()
    return 0


class _Progress:
    """A rich progress bar, only when a terminal shows it: rich is imported here, lazily."""

    def __init__(self) -> None:
        from rich.progress import Progress

        self._progress = Progress(transient=True)
        self._progress.start()
        self._task = self._progress.add_task("Loading layer")

    def update(self, message: dict) -> None:
        detail = message["progressDetail"]
        self._progress.update(
            self._task, completed=detail.get("current", 0), total=detail.get("total")
        )

    def close(self) -> None:
        self._progress.stop()
