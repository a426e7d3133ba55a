"""The command table: name -> (module, usage, summary). Nothing is imported until a
command runs, so `estiba --help` costs a dictionary. Each module under here provides
`configure(parser)` and `execute(ctx, args) -> exit code`.

The management commands (`estiba image ls`, `estiba container prune`...) are groups: a
group's entry in COMMANDS has no module, and GROUPS maps its subcommands to modules, most
of them the top-level commands' own (`image ls` is `images`, `container rm` is `rm`).
ALIASES are further names for subcommands, accepted but not listed.
"""

from __future__ import annotations

from collections import namedtuple

__all__ = ["ALIASES", "COMMANDS", "GROUPS", "CommandInfo"]


# A namedtuple rather than typing.NamedTuple: importing typing costs the CLI ~4 ms.
CommandInfo = namedtuple("CommandInfo", "module usage summary")


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
    "compose": _c("compose", "[OPTIONS] COMMAND", "Define and run multi-container applications"),
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
    "history": _c("history", "[OPTIONS] IMAGE", "Show the history of an image"),
    "import": _c(
        "import_image",
        "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
        "Import the contents from a tarball to create a filesystem image",
    ),
    "port": _c(
        "port",
        "CONTAINER [PRIVATE_PORT[/PROTO]]",
        "List port mappings or a specific mapping for the container",
    ),
    "cp": _c(
        "cp",
        "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\testiba cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
        "Copy files/folders between a container and the local filesystem",
    ),
    "commit": _c(
        "commit",
        "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
        "Create a new image from a container's changes",
    ),
    "pull": _c("pull", "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry"),
    "push": _c("push", "[OPTIONS] NAME[:TAG]", "Upload an image to a registry"),
    "login": _c("login", "[OPTIONS] [SERVER]", "Log in to a registry"),
    "logout": _c("logout", "[SERVER]", "Log out from a registry"),
    "search": _c("search", "[OPTIONS] TERM", "Search Docker Hub or a registry for images"),
    "build": _c("build", "[OPTIONS] PATH | -", "Build an image from a Dockerfile"),
    "builder": CommandInfo("", "COMMAND", "Manage builds"),
    "container": CommandInfo("", "COMMAND", "Manage containers"),
    "image": CommandInfo("", "COMMAND", "Manage images"),
    "network": CommandInfo("", "COMMAND", "Manage networks"),
    "system": CommandInfo("", "COMMAND", "Manage Estiba"),
    "volume": CommandInfo("", "COMMAND", "Manage volumes"),
    "snapshot": CommandInfo("", "COMMAND", "Manage container snapshots"),
}


def _same(*names: str) -> dict[str, CommandInfo]:
    return {name: COMMANDS[name] for name in names}


GROUPS: dict[str, dict[str, CommandInfo]] = {
    "container": {
        **_same("attach", "create", "diff", "exec", "export"),
        "inspect": _c(
            "container_inspect",
            "[OPTIONS] CONTAINER [CONTAINER...]",
            "Display detailed information on one or more containers",
        ),
        **_same("kill", "logs"),
        "ls": _c("ps", "[OPTIONS]", "List containers"),
        "pause": COMMANDS["pause"],
        "port": COMMANDS["port"],
        "prune": _c("container_prune", "[OPTIONS]", "Remove all stopped containers"),
        **_same("rename", "restart", "rm", "run", "start", "stats", "stop", "top", "unpause"),
        **_same("update", "wait", "commit", "cp"),
        "copy": _c(
            "container_copy",
            "[OPTIONS] SOURCE[/SNAPSHOT] NEW",
            "Create a stopped copy of a container or of one of its snapshots",
        ),
    },
    "builder": {
        "build": COMMANDS["build"],
        "prune": _c("builder_prune", "[OPTIONS]", "Remove build cache"),
    },
    "image": {
        "bootstrap": _c(
            "bootstrap", "busybox|debian[:SUITE]", "Make an image without a registry"
        ),
        "history": COMMANDS["history"],
        "import": COMMANDS["import"],
        "inspect": _c(
            "image_inspect",
            "[OPTIONS] IMAGE [IMAGE...]",
            "Display detailed information on one or more images",
        ),
        "load": COMMANDS["load"],
        "ls": _c("images", "[OPTIONS] [REPOSITORY[:TAG]]", "List images"),
        "prune": _c("image_prune", "[OPTIONS]", "Remove unused images"),
        "rm": _c("rmi", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images"),
        **_same("save", "tag", "pull", "push", "build"),
    },
    "network": {
        "connect": _c("network_connect", "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network"),
        "create": _c("network_create", "[OPTIONS] NETWORK", "Create a network"),
        "disconnect": _c(
            "network_disconnect", "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network"
        ),
        "inspect": _c(
            "network_inspect", "[OPTIONS] NETWORK [NETWORK...]",
            "Display detailed information on one or more networks",
        ),
        "ls": _c("network_ls", "[OPTIONS]", "List networks"),
        "prune": _c("network_prune", "[OPTIONS]", "Remove all unused networks"),
        "rm": _c("network_rm", "NETWORK [NETWORK...]", "Remove one or more networks"),
    },
    "system": {
        "df": _c("system_df", "[OPTIONS]", "Show Estiba disk usage"),
        "events": COMMANDS["events"],
        "info": _c("info", "[OPTIONS]", "Display system-wide information"),
        "prune": _c("system_prune", "[OPTIONS]", "Remove unused data"),
    },
    "volume": {
        "create": _c("volume_create", "[OPTIONS] [VOLUME]", "Create a volume"),
        "ls": _c("volume_ls", "[OPTIONS]", "List volumes"),
        "inspect": _c(
            "volume_inspect", "[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes"
        ),
        "rm": _c("volume_rm", "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes"),
        "prune": _c("volume_prune", "[OPTIONS]", "Remove unused local volumes"),
        "clone": _c("volume_clone", "SOURCE NEW", "Create a volume with a copy of another's data"),
        "rename": _c("volume_rename", "VOLUME NEW_NAME", "Rename a volume"),
        "export": _c("volume_export", "[OPTIONS] VOLUME", "Write a volume's data as a tar archive"),
        "import": _c("volume_import", "VOLUME [FILE|-]", "Unpack a tar archive into a volume"),
    },
    "snapshot": {
        "create": _c("snapshot_create", "[OPTIONS] CONTAINER [NAME]", "Snapshot a container"),
        "ls": _c("snapshot_ls", "[OPTIONS] CONTAINER", "List a container's snapshots"),
        "restore": _c("snapshot_restore", "[OPTIONS] CONTAINER NAME", "Restore a container from a snapshot"),
        "rm": _c("snapshot_rm", "CONTAINER NAME [NAME...]", "Remove snapshots of a container"),
    },
}

ALIASES: dict[str, dict[str, str]] = {
    "container": {"list": "ls", "ps": "ls", "remove": "rm"},
    "image": {"list": "ls", "remove": "rm"},
    "network": {"list": "ls", "remove": "rm"},
}
