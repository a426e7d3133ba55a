"""`estiba version`: this client's and the daemon's versions, in docker's layout."""

from __future__ import annotations

import argparse
import platform

from estiba.cli.base import Context
from estiba.errors import EstibaError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", default=None, help="Format output using a Go template")


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _engine_lines(details: dict) -> list[tuple[str, str]]:
    get = details.get
    return [
        ("API version", f"{get('ApiVersion', '')} (minimum version {get('MinAPIVersion', '')})"),
        ("Go version", get("GoVersion", "")),
        ("OS/Arch", f"{get('Os', '')}/{get('Arch', '')}"),
        ("Kernel version", get("KernelVersion", "")),
    ]


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba import __version__
    from estiba.cli.client import API_VERSION

    client_info = {
        "Version": __version__,
        "ApiVersion": API_VERSION,
        "GoVersion": f"python{platform.python_version()}",
        "Os": "linux",
        "Arch": _arch(),
    }
    server = None
    failure: EstibaError | None = None
    try:
        server = ctx.client.get("/version")
    except EstibaError as exc:
        failure = exc
    if args.format:
        from estiba.cli.format import Template

        ctx.out(Template(args.format).render({"Client": client_info, "Server": server}))
    else:
        ctx.out("Client:")
        ctx.out(f" Version:           {__version__}")
        ctx.out(f" API version:       {API_VERSION}")
        ctx.out(f" Python version:    {platform.python_version()}")
        ctx.out(f" OS/Arch:           linux/{_arch()}")
        if server is not None:
            ctx.out()
            ctx.out(f"Server: {(server.get('Platform') or {}).get('Name', '')}")
            for component in server.get("Components") or ():
                details = component.get("Details") or {}
                ctx.out(f" {component['Name']}:")
                ctx.out(f"  Version:          {component.get('Version', '')}")
                if component["Name"] == "Engine":
                    for label, value in _engine_lines(details):
                        ctx.out(f"  {label + ':':<18}{value}")
    if failure is not None:
        raise failure
    return 0
