"""`estiba compose ls`: the projects the engine has, from their containers' labels (NAME,
STATUS like "running(2)", CONFIG FILES); -a includes projects with no running container."""

from __future__ import annotations

import argparse
import json


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-a", "--all", action="store_true", help="Show all stopped Compose projects")
    a("-q", "--quiet", action="store_true", help="Only display IDs")
    a("--format", default="table", choices=("table", "json"), help="Format the output. Values: [table | json]")
    a("--filter", action="append", default=[], help="Filter output based on conditions provided (name=NAME)")


def projects(containers: list[dict]) -> list[dict]:
    """[{Name, Status, ConfigFiles}] sorted by name; Status counts states in compose's
    order of first appearance, e.g. "running(2), exited(1)"."""
    from estiba.compose import labels

    found: dict[str, dict] = {}
    for container in containers:
        tags = container.get("Labels") or {}
        name = tags.get(labels.PROJECT)
        if not name:
            continue
        entry = found.setdefault(name, {"states": {}, "files": []})
        state = container.get("State", "")
        entry["states"][state] = entry["states"].get(state, 0) + 1
        for path in (tags.get(labels.CONFIG_FILES) or "").split(","):
            if path and path not in entry["files"]:
                entry["files"].append(path)
    return [
        {
            "Name": name,
            "Status": ", ".join(f"{s}({n})" for s, n in sorted(entry["states"].items())),
            "ConfigFiles": ",".join(entry["files"]),
            "_running": "running" in entry["states"],
        }
        for name, entry in sorted(found.items())
    ]


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from estiba.cli.format import tabulate
    from estiba.compose import labels
    from estiba.errors import InvalidArgument

    names: list[str] = []
    for spec in args.filter:
        key, eq, value = spec.partition("=")
        if key != "name" or not eq:
            raise InvalidArgument(f"invalid filter {spec!r}: only name=NAME is supported")
        names.append(value)
    containers = ctx.client.get(
        "/containers/json", all=True, filters=json.dumps({"label": [labels.PROJECT]})
    )
    listed = [p for p in projects(containers) if args.all or p["_running"]]
    if names:
        listed = [p for p in listed if any(n in p["Name"] for n in names)]
    if args.quiet:
        for project in listed:
            ctx.out(project["Name"])
        return 0
    if args.format == "json":
        ctx.out(json.dumps([{k: v for k, v in p.items() if not k.startswith("_")} for p in listed], separators=(",", ":")))
        return 0
    rows = [["NAME", "STATUS", "CONFIG FILES"]] + [[p["Name"], p["Status"], p["ConfigFiles"]] for p in listed]
    ctx.stdout.write(tabulate(rows))
    return 0
