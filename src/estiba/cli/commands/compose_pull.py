"""`estiba compose pull`: pull the services' images (compose's rules: build-only services
and pull_policy never/build are skipped; a buildable service's failure is a warning)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--ignore-pull-failures", action="store_true", help="Pull what it can and ignores images with pull failures")
    a("--ignore-buildable", action="store_true", help="Ignore images that can be built")
    a("--include-deps", action="store_true", help="Also pull services declared as dependencies")
    a("-q", "--quiet", action="store_true", help="Pull without printing progress information")
    a("--policy", choices=("missing", "always"), help="Apply pull policy")
    a("services", nargs="*", metavar="SERVICE")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.compose.engine.converge import select_services
    from estiba.compose.engine.progress import Progress
    from estiba.compose.images import image_id, pull_image
    from estiba.compose.targets import file_project
    from estiba.errors import EstibaError

    project = file_project(ctx, args.services, "pull")
    progress = Progress(ctx.stderr, quiet=args.quiet)
    failed: list[EstibaError] = []
    for name in select_services(project, args.services, with_dependencies=args.include_deps):
        service = project.services[name]
        image = service.get("image")
        if not image:
            progress.event("", name, "Skipped - No image to be pulled")
            continue
        policy = args.policy or service.get("pull_policy") or "always"
        if policy in ("never", "build"):
            progress.event("", name, "Skipped")
            continue
        if policy in ("missing", "if_not_present") and image_id(ctx.client, image):
            progress.event("", name, "Skipped - Image is already present locally")
            continue
        if service.get("build") and args.ignore_buildable:
            progress.event("", name, "Skipped - Image can be built")
            continue
        progress.event("", name, "Pulling")
        try:
            pull_image(ctx.client, image)
        except EstibaError as exc:
            progress.event("", name, "Error")
            if service.get("build") or args.ignore_pull_failures:
                progress.warn(f"{name}: {exc}")
                continue
            failed.append(exc)
            continue
        progress.event("", name, "Pulled")
    if failed:
        raise failed[0]
    return 0
