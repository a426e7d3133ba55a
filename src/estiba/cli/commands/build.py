"""`estiba build [OPTIONS] PATH|-`: the context packed as the docker CLI packs it
(.dockerignore applied, a Dockerfile from elsewhere or from stdin added), sent to
`POST /build`, the output printed as it comes; a failed RUN's exit code is ours."""

from __future__ import annotations

import argparse
import os
import sys

from estiba.cli.base import Context
from estiba.errors import InvalidArgument


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-t", "--tag", action="append", default=[], help='Name and optionally a tag in the "name:tag" format')
    a("-f", "--file", default=None, help="Name of the Dockerfile (default: 'PATH/Dockerfile')")
    a("--build-arg", action="append", default=[], help="Set build-time variables")
    a("--label", action="append", default=[], help="Set metadata for an image")
    a("--target", default="", help="Set the target build stage to build")
    a("--no-cache", action="store_true", help="Do not use cache when building the image")
    a("--pull", action="store_true", help="Always attempt to pull a newer version of the image")
    a("-q", "--quiet", action="store_true", help="Suppress the build output and print image ID on success")
    a("--iidfile", default=None, help="Write the image ID to the file")
    a("--network", default="", help="Set the networking mode for the RUN instructions during build")
    a("--add-host", action="append", default=[], help="Add a custom host-to-IP mapping (host:ip)")
    a("--rm", action="store_true", default=True, help="Remove intermediate containers after a successful build")
    a("--force-rm", action="store_true", help="Always remove intermediate containers")
    a("--platform", default=None, help="Set platform if server is multi-platform capable")
    a("path", metavar="PATH|-")


def build_args(items: list[str], environ: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, str | None]:
    """`--build-arg K=V`, or `K` alone: its value from the environment (none if unset)."""
    found: dict[str, str | None] = {}
    for item in items:
        key, eq, value = item.partition("=")
        found[key] = value if eq else environ.get(key)
    return found


def labels(items: list[str]) -> dict[str, str]:
    return {key: value for key, _, value in (item.partition("=") for item in items)}


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.build.packing import is_archive, pack_context, plan_context, stream_context
    from estiba.cli.client import iter_json

    if args.path == "-" and args.file == "-":
        raise InvalidArgument("invalid argument: can't use stdin for both build context and dockerfile")
    dockerfile_name = None
    if args.path == "-":
        data = sys.stdin.buffer.read()
        if is_archive(data[:512]):
            import io

            body, dockerfile_name = io.BytesIO(data), args.file or "Dockerfile"
        else:
            import tempfile

            with tempfile.TemporaryDirectory() as empty:
                body, dockerfile_name = pack_context(empty, dockerfile_text=data)
    else:
        text = sys.stdin.buffer.read() if args.file == "-" else None
        plan = plan_context(args.path, None if args.file == "-" else args.file, text)
        body, dockerfile_name = stream_context(plan), plan.name
    params = {
        "t": list(args.tag) or None,
        "dockerfile": dockerfile_name,
        "buildargs": build_args(args.build_arg) or None,
        "labels": labels(args.label) or None,
        "target": args.target or None,
        "nocache": args.no_cache or None,
        "pull": args.pull or None,
        "q": args.quiet or None,
        "networkmode": args.network or None,
        "extrahosts": ",".join(args.add_host) or None,
        "forcerm": args.force_rm or None,
        "platform": args.platform,
    }
    image_id = ""
    try:
        response = ctx.client.open(
            "POST", "/build", params, body, {"Content-Type": "application/x-tar"}
        )
        for message in iter_json(response):
            if message.get("error") or message.get("errorDetail"):
                detail = message.get("errorDetail") or {}
                ctx.stdout.flush()
                sys.stderr.write((message.get("error") or detail.get("message", "")) + "\n")
                return int(detail.get("code") or 1)
            aux = message.get("aux")
            if isinstance(aux, dict) and aux.get("ID"):
                image_id = aux["ID"]
            if message.get("stream"):
                ctx.stdout.write(message["stream"])
                ctx.stdout.flush()
    finally:
        body.close()
    if args.iidfile and image_id:
        with open(args.iidfile, "w") as f:
            f.write(image_id)
    return 0
