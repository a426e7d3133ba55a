"""`estiba compose start`: start the services' existing containers in dependency order,
each service once its dependencies' conditions hold."""

from __future__ import annotations

import argparse

from estiba.cli.commands._compose_engine import engine


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="Wait for services to be running|healthy")
    parser.add_argument("--wait-timeout", type=int, default=None, help="timeout waiting for application to be running|healthy")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from estiba.compose.engine import select_services
    from estiba.compose.engine.waiting import wait_running_or_healthy

    eng = engine(ctx, args.services)
    services = select_services(eng.project, args.services, with_dependencies=False)
    eng.start(services, strict=True)
    if args.wait:
        wait_running_or_healthy(eng.client, eng.containers(services), eng.progress, args.wait_timeout)
    return 0
