"""`estiba compose down`: stop and remove the project's containers (dependents first) and
networks; -v its volumes, --rmi its images, --remove-orphans the containers of services
no longer in the file."""

from __future__ import annotations

import argparse

from estiba.cli.commands._compose_engine import add_timeout, lifecycle


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--remove-orphans", action="store_true", help="Remove containers for services not defined in the Compose file")
    a("--rmi", choices=("local", "all"), default=None, help='Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")')
    a("-v", "--volumes", action="store_true", help="Remove named volumes declared in the volumes section of the Compose file and anonymous volumes attached to containers")
    add_timeout(parser)
    a("services", nargs="*", metavar="SERVICE")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    lifecycle(ctx).down(
        remove_orphans=args.remove_orphans,
        volumes=args.volumes,
        rmi=args.rmi,
        timeout=args.timeout,
        services=args.services or None,
    )
    return 0
