"""What the compose lifecycle commands share: the progress writer, the engine for the
loaded project, and the Lifecycle that works from labels when only -p is known."""

from __future__ import annotations

import argparse

from estiba.errors import EstibaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from estiba.cli.commands.compose import ComposeContext
    from estiba.compose.engine import Engine, Lifecycle, Progress
    from estiba.compose.model import Project

__all__ = ["add_timeout", "engine", "lifecycle", "progress", "project_or_none"]


def add_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-t", "--timeout", type=int, default=None,
        help="Specify a shutdown timeout in seconds",
    )  # fmt: skip


def progress(ctx: ComposeContext) -> Progress:
    from estiba.compose.engine import Progress

    return Progress(ctx.stderr, quiet=getattr(ctx.options, "progress", "auto") == "quiet")


def engine(ctx: ComposeContext, services: list[str] | None = None) -> Engine:
    from estiba.compose.engine import Engine

    return Engine(ctx.client, ctx.project(services or None), progress(ctx), workers=ctx.options.parallel)


def project_or_none(ctx: ComposeContext, services: list[str] | None = None) -> Project | None:
    """The model when a file is there; with -p NAME and no file, None (the commands that
    act on the engine's objects then go by their labels alone, as compose does)."""
    try:
        return ctx.project(services or None)
    except EstibaError:
        if ctx.options.project_name and not ctx.options.file:
            return None
        raise


def lifecycle(ctx: ComposeContext, services: list[str] | None = None) -> Lifecycle:
    from estiba.compose.engine import Lifecycle

    project = project_or_none(ctx, services)
    name = project.name if project is not None else ctx.project_name()
    return Lifecycle(ctx.client, name, project, progress(ctx), workers=ctx.options.parallel)
