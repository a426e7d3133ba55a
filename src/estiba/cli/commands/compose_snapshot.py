"""`estiba compose snapshot`: LXD's snapshots over a whole project (estiba.compose.snapshots).

    estiba compose snapshot [create] [NAME]   every service container and named volume,
                                              the running containers paused meanwhile;
                                              NAME defaults to snap0, snap1, ...
    estiba compose snapshot ls [-q] [--format F]   NAME CREATED CONTAINERS VOLUMES SIZE
    estiba compose snapshot rm NAME...        every container snapshot and volume copy

`estiba compose restore [--force] NAME` puts a snapshot back. A snapshot named like a
subcommand is made with `snapshot create ls`.
"""

from __future__ import annotations

import argparse

from estiba.cli.base import UsageError, for_each

TYPE_CHECKING = False
if TYPE_CHECKING:
    from estiba.compose.snapshots import ProjectSnapshot, ProjectSnapshots

DEFAULT_FORMAT = "table {{.Name}}\t{{.Created}}\t{{.Containers}}\t{{.Volumes}}\t{{.Size}}"
HEADERS = {"Name": "NAME", "Created": "CREATED", "Containers": "CONTAINERS", "Volumes": "VOLUMES", "Size": "SIZE"}
_ACTIONS = {"create": "create", "ls": "ls", "list": "ls", "rm": "rm", "remove": "rm"}


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-q", "--quiet", action="store_true", help="ls: only show snapshot names")
    a("--format", default=None, help="ls: format the output. Values: [table | json | TEMPLATE]")
    a("words", nargs="*", metavar="[create] [NAME] | ls | rm NAME...")


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    action, names = _action(args.words)
    if action != "ls" and (args.quiet or args.format):
        raise UsageError("-q and --format go with `snapshot ls` only", "compose snapshot")
    snapshots = _snapshots(ctx)
    if action == "ls":
        return _list(ctx, snapshots, args)
    if action == "rm":
        return for_each(ctx, names, snapshots.remove)
    made = snapshots.create(names[0] if names else None)
    ctx.out(made.name)
    return 0


def _action(words: list[str]) -> tuple[str, list[str]]:
    if not words:
        return "create", []
    action = _ACTIONS.get(words[0])
    if action is None:  # `snapshot NAME`
        action, rest = "create", words
    else:
        rest = words[1:]
    if action == "create" and len(rest) > 1:
        raise UsageError(f"too many names: {' '.join(rest)} (one snapshot at a time)", "compose snapshot")
    if action == "ls" and rest:
        raise UsageError(f"`snapshot ls` takes no argument, got {' '.join(rest)}", "compose snapshot")
    if action == "rm" and not rest:
        raise UsageError("`snapshot rm` needs the name of at least one snapshot", "compose snapshot")
    return action, rest


def _snapshots(ctx) -> ProjectSnapshots:  # type: ignore[no-untyped-def]
    from estiba.cli.commands._compose_engine import progress
    from estiba.compose.snapshots import ProjectSnapshots

    return ProjectSnapshots(ctx.client, ctx.project_name(), progress(ctx))


def _list(ctx, snapshots: ProjectSnapshots, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    import json

    from estiba.cli.format import Template, render_rows
    from estiba.cli.units import human_size

    found = list(snapshots.snapshots(sizes=not args.quiet).values())
    if args.quiet and not args.format:
        for snapshot in found:
            ctx.out(snapshot.name)
        return 0
    if args.format == "json":
        ctx.out(json.dumps([_document(s) for s in found]))
        return 0
    rows = [
        {"Name": s.name, "Created": _when(s.created), "Containers": str(len(s.containers)),
         "Volumes": str(len(s.volumes)), "Size": human_size(s.size)}
        for s in found
    ]  # fmt: skip
    text = DEFAULT_FORMAT if args.format in (None, "table") else args.format
    ctx.stdout.write(render_rows(Template(text, HEADERS), rows))
    return 0


def _when(created: str) -> str:
    """RFC 3339 (as the daemon writes it) to LXD's readable form: 2026-11-28 12:40:09 UTC."""
    if len(created) >= 19 and created.endswith("Z"):
        return created[:19].replace("T", " ") + " UTC"
    return created


def _document(snapshot: ProjectSnapshot) -> dict:
    return {
        "Name": snapshot.name,
        "Created": snapshot.created,
        "Size": snapshot.size,
        "Containers": [{"Name": p.container, "Service": p.service, "Size": p.size} for p in snapshot.containers],
        "Volumes": [{"Name": p.copy, "Volume": p.volume, "Size": p.size} for p in snapshot.volumes],
    }
