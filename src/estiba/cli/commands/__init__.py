"""The command table: name -> (module, usage, summary). Nothing is imported until a
command runs, so `estiba --help` costs a dictionary. Each module under here provides
`configure(parser)` and `execute(ctx, args) -> exit code`.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["COMMANDS", "CommandInfo"]


class CommandInfo(NamedTuple):
    module: str
    usage: str
    summary: str


def _c(module: str, usage: str, summary: str) -> CommandInfo:
    return CommandInfo(f"estiba.cli.commands.{module}", usage, summary)


COMMANDS: dict[str, CommandInfo] = {
    "run": _c(
        "run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image"
    ),
    "exec": _c(
        "exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container"
    ),
    "ps": _c("ps", "[OPTIONS]", "List containers"),
    "images": _c("images", "[OPTIONS] [REPOSITORY[:TAG]]", "List images"),
    "version": _c("version", "", "Show the Estiba version information"),
    "info": _c("info", "", "Display system-wide information"),
    "create": _c("create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container"),
    "start": _c(
        "start", "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers"
    ),
    "stop": _c("stop", "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers"),
    "restart": _c(
        "restart", "[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers"
    ),
    "kill": _c("kill", "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers"),
    "rm": _c("rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers"),
    "logs": _c("logs", "[OPTIONS] CONTAINER", "Fetch the logs of a container"),
    "attach": _c(
        "attach",
        "[OPTIONS] CONTAINER",
        "Attach local standard input, output, and error streams to a running container",
    ),
    "inspect": _c(
        "inspect",
        "[OPTIONS] NAME|ID [NAME|ID...]",
        "Return low-level information on Estiba objects",
    ),
    "wait": _c(
        "wait",
        "CONTAINER [CONTAINER...]",
        "Block until one or more containers stop, then print their exit codes",
    ),
    "top": _c("top", "CONTAINER [ps OPTIONS]", "Display the running processes of a container"),
    "pause": _c(
        "pause", "CONTAINER [CONTAINER...]", "Pause all processes within one or more containers"
    ),
    "unpause": _c(
        "unpause", "CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers"
    ),
    "rename": _c("rename", "CONTAINER NEW_NAME", "Rename a container"),
    "rmi": _c("rmi", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images"),
    "tag": _c(
        "tag",
        "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
        "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    ),
    "save": _c(
        "save",
        "[OPTIONS] IMAGE [IMAGE...]",
        "Save one or more images to a tar archive (streamed to STDOUT by default)",
    ),
    "load": _c("load", "[OPTIONS]", "Load an image from a tar archive or STDIN"),
    "stats": _c(
        "stats", "[OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage"
    ),
    "update": _c(
        "update",
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Update configuration of one or more containers",
    ),
    "diff": _c(
        "diff", "CONTAINER", "Inspect changes to files or directories on a container's filesystem"
    ),
    "export": _c(
        "export", "[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive"
    ),
    "events": _c("events", "[OPTIONS]", "Get real time events from the server"),
    "image": _c("image", "bootstrap busybox|debian[:SUITE]", "Make images without a registry"),
}
