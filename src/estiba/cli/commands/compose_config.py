"""`estiba compose config`: the resolved model (the loader's canonical form) as YAML or
JSON, or one of its parts (--services, --volumes, --networks, --images, --profiles,
--hash); -q only validates."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--format", choices=("yaml", "json"), default="yaml", help="Format the output. Values: [yaml | json]")
    a("-q", "--quiet", action="store_true", help="Only validate the configuration, don't print anything")
    a("--services", action="store_true", dest="list_services", help="Print the service names, one per line")
    a("--volumes", action="store_true", help="Print the volume names, one per line")
    a("--networks", action="store_true", help="Print the network names, one per line")
    a("--images", action="store_true", help="Print the image names, one per line")
    a("--profiles", action="store_true", help="Print the profile names, one per line")
    a("--hash", default=None, help='Print the service config hash, one per line ("*" for all)')
    a("--no-interpolate", action="store_true", help="Don't interpolate environment variables")
    a("-o", "--output", default=None, help="Save to file (default to stdout)")
    a("services", nargs="*", metavar="SERVICE")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from estiba.compose import specs
    from estiba.compose.engine import select_services
    from estiba.compose.loader import render_config

    project = ctx.project(args.services or None, interpolate=not args.no_interpolate)
    select_services(project, args.services)  # unknown names fail here
    if args.quiet:
        return 0
    if args.list_services and not any((args.volumes, args.networks, args.images, args.profiles, args.hash)):
        for name in sorted(project.services):
            ctx.out(name)
        return 0
    if args.volumes:
        for key in sorted(project.config.get("volumes") or {}):
            ctx.out(key)
        return 0
    if args.networks:
        for key in sorted(project.config.get("networks") or {}):
            ctx.out(key)
        return 0
    if args.images:
        for name in sorted(project.services):
            ctx.out(specs.image_name(project, name))
        return 0
    if args.profiles:
        found = {p for s in [*project.services.values(), *(project.disabled or {}).values()] for p in s.get("profiles") or ()}
        for profile in sorted(found):
            ctx.out(profile)
        return 0
    if args.hash:
        wanted = sorted(project.services) if args.hash == "*" else [s.strip() for s in args.hash.split(",")]
        for name in select_services(project, wanted, with_dependencies=False):
            ctx.out(f"{name} {specs.config_hash(project, name)}")
        return 0
    text = render_config(project, args.format, escape=not args.no_interpolate)
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(text)
    else:
        ctx.stdout.write(text)
    return 0
