"""`estiba compose images`: the image of each of the project's containers."""

from __future__ import annotations

import argparse
import json

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--format", default="table", choices=("table", "json"), help="Format the output")
    a("-q", "--quiet", action="store_true", help="Only display IDs")
    a("services", nargs="*", metavar="SERVICE")


def _repo_tag(container: dict, image: dict) -> tuple[str, str]:
    tags = image.get("RepoTags") or []
    wanted = container.get("Image", "")
    chosen = next((t for t in tags if t == wanted or t == f"{wanted}:latest"), tags[0] if tags else "")
    if not chosen:
        return "<none>", "<none>"
    repo, colon, tag = chosen.rpartition(":")
    if not colon or "/" in tag:
        return chosen, "latest"
    return repo, tag


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.client import quote_ref
    from estiba.cli.format import tabulate
    from estiba.compose.targets import scope
    from estiba.errors import NotFound
    from estiba.units import human_size

    found = scope(ctx, args.services)
    rows = []
    for container in found.containers(args.services):
        try:
            image = ctx.client.get(f"/images/{quote_ref(container['ImageID'])}/json")
        except NotFound:
            continue  # its image was removed since: compose lists nothing for it
        repo, tag = _repo_tag(container, image)
        rows.append({"ID": image["Id"], "ContainerName": container["Names"][0].lstrip("/"),
                     "Repository": repo, "Tag": tag, "Size": int(image.get("Size") or 0)})
    if args.quiet:
        seen: list[str] = []
        for row in rows:
            if (short := row["ID"].removeprefix("sha256:")[:12]) not in seen:
                seen.append(short)
                ctx.out(short)
        return 0
    if args.format == "json":
        ctx.out(json.dumps(rows))
        return 0
    table = [["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"]] + [
        [r["ContainerName"], r["Repository"], r["Tag"], r["ID"].removeprefix("sha256:")[:12],
         human_size(r["Size"])] for r in rows]
    ctx.stdout.write(tabulate(table))
    return 0
