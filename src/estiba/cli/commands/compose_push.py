"""`estiba compose push`: push the images of the services that have both `build:` and
`image:` (what compose pushes)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--ignore-push-failures", action="store_true", help="Push what it can and ignores images with push failures")
    a("--include-deps", action="store_true", help="Also push images of services declared as dependencies")
    a("-q", "--quiet", action="store_true", help="Push without printing progress information")
    a("services", nargs="*", metavar="SERVICE")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.compose.engine.converge import select_services
    from estiba.compose.engine.progress import Progress
    from estiba.compose.images import push_image
    from estiba.compose.targets import file_project
    from estiba.errors import EstibaError

    project = file_project(ctx, args.services, "push")
    progress = Progress(ctx.stderr, quiet=args.quiet)
    for name in select_services(project, args.services, with_dependencies=args.include_deps):
        service = project.services[name]
        if not service.get("build") or not service.get("image"):
            continue
        progress.event("", name, "Pushing")
        try:
            push_image(ctx.client, service["image"])
        except EstibaError as exc:
            progress.event("", name, "Error")
            if not args.ignore_push_failures:
                raise
            progress.warn(f"{name}: {exc}")
            continue
        progress.event("", name, "Pushed")
    return 0
