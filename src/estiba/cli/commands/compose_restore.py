"""`estiba compose restore [--force] NAME`: the project's containers (files and
configuration) and named volumes (their data, exactly) back as snapshot NAME holds them
(estiba.compose.snapshots). Running containers only with --force: stopped, dependents
first, restored, started again, dependencies first."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Stop the running containers, restore, start them again")
    parser.add_argument("name", metavar="SNAPSHOT")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from estiba.cli.commands._compose_engine import progress
    from estiba.compose.snapshots import ProjectSnapshots, validate_name

    validate_name(args.name)
    ProjectSnapshots(ctx.client, ctx.project_name(), progress(ctx)).restore(args.name, force=args.force)
    return 0
