"""`estiba compose ps`: the project's containers, as compose v2.20 lists them (NAME IMAGE
COMMAND SERVICE CREATED STATUS PORTS; --format json an array of objects)."""

from __future__ import annotations

import argparse
import json

from estiba.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_FORMAT = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"
HEADERS = {"Name": "NAME", "Service": "SERVICE", "Project": "PROJECT", "Health": "HEALTH", "ExitCode": "EXIT CODE"}
STATES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-a", "--all", action="store_true", help="Show all stopped containers (including those created by the run command)")
    a("-q", "--quiet", action="store_true", help="Only display IDs")
    a("--services", action="store_true", dest="list_services", help="Display services")
    a("--format", default="table", help="Format the output. Values: [table | json | TEMPLATE]")
    a("--status", action="append", default=[], help="Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]")
    a("--filter", action="append", default=[], help="Filter services by a property (supported filters: status)")
    a("--no-trunc", action="store_true", help="Don't truncate output")
    a("--orphans", default="true", choices=("true", "false"), help="Include orphaned services (not declared by project)")
    a("services", nargs="*", metavar="SERVICE")


def _statuses(args: argparse.Namespace) -> set[str]:
    wanted = set(args.status)
    for spec in args.filter:
        key, eq, value = spec.partition("=")
        if key != "status" or not eq:
            raise InvalidArgument(f"invalid filter {spec!r}: only status=STATE is supported")
        wanted.add(value)
    for state in wanted:
        if state not in STATES:
            raise InvalidArgument(f"invalid status {state!r}: use one of {', '.join(STATES)}")
    return wanted


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from estiba.cli.commands._compose_engine import project_or_none
    from estiba.compose import labels

    statuses = _statuses(args)
    project = project_or_none(ctx)
    name = project.name if project is not None else ctx.project_name()
    if args.services and project is not None:
        for service in args.services:
            if service not in project.services:
                raise InvalidArgument(f"no such service: {service}")
    stopped = args.all or bool(statuses)
    containers = labels.list_containers(
        ctx.client, name, services=args.services or None, stopped=stopped, oneoff=None if args.all else False
    )
    if args.orphans == "false" and project is not None:
        containers = [c for c in containers if labels.service_of(c) in project.services]
    if statuses:
        containers = [c for c in containers if c.get("State") in statuses]
    if args.quiet:
        for container in containers:
            ctx.out(container["Id"] if args.no_trunc else container["Id"][:12])
        return 0
    if args.list_services:
        seen: list[str] = []
        for container in containers:
            if labels.service_of(container) not in seen:
                seen.append(labels.service_of(container))
        for service in seen:
            ctx.out(service)
        return 0
    rows = [_row(c, name, truncate=not args.no_trunc) for c in containers]
    if args.format == "json":
        ctx.out(json.dumps([_document(c, name) for c in containers], separators=(",", ":")))
        return 0
    from estiba.cli.format import Template, render_rows
    from estiba.cli.listing import CONTAINER_HEADERS

    text = DEFAULT_FORMAT if args.format == "table" else args.format
    template = Template(text, {**CONTAINER_HEADERS, **HEADERS})
    ctx.stdout.write(render_rows(template, rows))
    return 0


def _row(container: dict, project: str, *, truncate: bool) -> dict[str, Any]:
    from estiba.cli.listing import container_row
    from estiba.compose import labels

    row: dict[str, Any] = container_row(container, truncate=truncate)
    row["Name"] = row["Names"]
    row["Service"] = labels.service_of(container)
    row["Project"] = project
    row["Health"] = _health(container.get("Status", ""))
    return row


def _health(status: str) -> str:
    for word in ("healthy", "unhealthy", "health: starting"):
        if f"({word})" in status:
            return word.removeprefix("health: ")
    return ""


def _document(container: dict, project: str) -> dict[str, Any]:
    """One container as compose v2.20's `ps --format json` prints it."""
    import re

    from estiba.compose import labels

    status = container.get("Status", "")
    exited = re.match(r"Exited \((\d+)\)", status)
    return {
        "ID": container["Id"],
        "Name": container["Names"][0].lstrip("/"),
        "Image": container.get("Image", ""),
        "Command": container.get("Command", ""),
        "Project": project,
        "Service": labels.service_of(container),
        "Created": container.get("Created", 0),
        "State": container.get("State", ""),
        "Status": status,
        "Health": _health(status),
        "ExitCode": int(exited.group(1)) if exited else 0,
        "Publishers": [
            {
                "URL": port.get("IP", ""),
                "TargetPort": port.get("PrivatePort", 0),
                "PublishedPort": port.get("PublicPort", 0),
                "Protocol": port.get("Type", "tcp"),
            }
            for port in container.get("Ports") or ()
        ],
    }
