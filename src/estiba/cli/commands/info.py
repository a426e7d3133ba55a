"""`estiba info`: system-wide figures from the daemon."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", default=None, help="Format output using a Go template")


_FIELDS = (
    ("Server Version", "ServerVersion"),
    ("Storage Driver", "Driver"),
    ("Logging Driver", "LoggingDriver"),
    ("Cgroup Driver", "CgroupDriver"),
    ("Cgroup Version", "CgroupVersion"),
    ("Default Runtime", "DefaultRuntime"),
    ("Kernel Version", "KernelVersion"),
    ("Operating System", "OperatingSystem"),
    ("OSType", "OSType"),
    ("Architecture", "Architecture"),
    ("CPUs", "NCPU"),
    ("Name", "Name"),
    ("ID", "ID"),
    ("Docker Root Dir", "DockerRootDir"),
)


def execute(ctx: Context, args: argparse.Namespace) -> int:
    info = ctx.client.get("/info")
    if args.format:
        from estiba.cli.format import Template

        ctx.out(Template(args.format).render(info))
        return 0
    ctx.out("Server:")
    ctx.out(f" Containers: {info.get('Containers', 0)}")
    for label, key in (
        ("Running", "ContainersRunning"),
        ("Paused", "ContainersPaused"),
        ("Stopped", "ContainersStopped"),
    ):
        ctx.out(f"  {label}: {info.get(key, 0)}")
    ctx.out(f" Images: {info.get('Images', 0)}")
    for label, key in _FIELDS:
        if key in info:
            ctx.out(f" {label}: {info[key]}")
    if "MemTotal" in info:
        from estiba.cli.units import human_size

        ctx.out(f" Total Memory: {human_size(info['MemTotal'])}")
    return 0
