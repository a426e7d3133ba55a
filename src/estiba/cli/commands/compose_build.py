"""`estiba compose build`: build the images of the services that have `build:`."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--build-arg", action="append", default=[], help="Set build-time variables for services")
    a("--no-cache", action="store_true", help="Do not use cache when building the image")
    a("--pull", action="store_true", help="Always attempt to pull a newer version of the image")
    a("-q", "--quiet", action="store_true", help="Don't print anything to STDOUT")
    a("--progress", default="auto", help=argparse.SUPPRESS)
    a("services", nargs="*", metavar="SERVICE")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.commands.build import build_args
    from estiba.compose.engine.progress import Progress
    from estiba.compose.images import BuildOptions, build_service
    from estiba.compose.targets import file_project

    project = file_project(ctx, args.services, "build")
    options = BuildOptions(no_cache=args.no_cache, pull=args.pull, quiet=args.quiet,
                           build_args=build_args(args.build_arg, project.environment or {}))
    progress = Progress(ctx.stderr, quiet=args.quiet)
    for name in args.services or sorted(project.services):
        if not project.services[name].get("build"):
            continue
        progress.event("", name, "Building")
        build_service(ctx.client, project, name, out=ctx.stdout, options=options)
        progress.event("", name, "Built")
    return 0
