"""What every command shares: its argument parser, its context, and per-object loops.

Commands raise; they never print errors or choose exit codes for failures. The entry
point (`estiba.cli.main`) does that once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable

from estiba.errors import EstibaError, InvalidArgument

TYPE_CHECKING = False  # typing costs the CLI milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import IO, Any

__all__ = ["CommandParser", "Context", "ManyErrors", "UsageError", "for_each"]


class UsageError(InvalidArgument):
    """Bad flags or arguments: exit 125 with the usage hint, as docker does."""

    def __init__(self, message: str, command: str) -> None:
        super().__init__(message)
        self.command = command


class ManyErrors(EstibaError):
    """Several objects failed (`rm a b c`): every error is reported, then exit 1."""

    def __init__(self, errors: list[EstibaError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's formatter with the width given, so that it does not import shutil (for
    the terminal's size) on every add_argument: that costs the CLI ~3 ms at start-up."""
    try:
        columns = os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        columns = int(os.environ.get("COLUMNS", "80") or 80)
    return argparse.HelpFormatter(prog, width=max(columns - 2, 40))


class CommandParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, and knows docker's help layout."""

    def __init__(self, command: str, usage: str, description: str, short_help: bool = True) -> None:
        super().__init__(
            prog=f"estiba {command}",
            usage=f"estiba {command} {usage}".rstrip(),
            description=description,
            add_help=False,
            allow_abbrev=False,
            formatter_class=_help_formatter,
        )
        self.command = command
        # `run -h` is the hostname, as in docker; elsewhere -h is help too.
        flags = ("-h", "--help") if short_help else ("--help",)
        self.add_argument(*flags, action="help", help="Print usage")

    def error(self, message: str) -> Any:  # argparse's hook; never returns
        raise UsageError(message, self.command)


class Context:
    """The endpoint and the terminal streams; the API client is made on first use."""

    def __init__(self, host: str, stdout: IO[str] | None = None, stderr: IO[str] | None = None):
        self.host = host
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from estiba.cli.client import Client

            self._client = Client(self.host)
        return self._client

    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")


def for_each(
    ctx: Context, refs: Iterable[str], action: Callable[[str], Any], echo: bool = True
) -> int:
    """Apply `action` to each reference, printing it on success (docker's habit);
    failures are gathered and raised together at the end."""
    errors: list[EstibaError] = []
    for ref in refs:
        try:
            action(ref)
        except EstibaError as exc:
            errors.append(exc)
            continue
        if echo:
            ctx.out(ref)
        ctx.stdout.flush()
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ManyErrors(errors)
    return 0


def print_documents(
    ctx: Context, names: Iterable[str], fetch: Callable[[str], Any], template: str | None
) -> int:
    """`inspect` of any kind: every object's document as one JSON array (or each through
    the Go template), then the failures together, as docker prints them."""
    import json

    found: list[Any] = []
    errors: list[EstibaError] = []
    for name in names:
        try:
            found.append(fetch(name))
        except EstibaError as exc:
            errors.append(exc)
    if template:
        from estiba.cli.format import Template

        compiled = Template(template)
        for document in found:
            ctx.out(compiled.render(document))
    else:
        ctx.out(json.dumps(found, indent=4))
    if errors:
        raise errors[0] if len(errors) == 1 else ManyErrors(errors)
    return 0
