"""`estiba compose`: docker compose v2's command line, talking to estibad through the API.

The project options (-f, -p, --project-directory, --env-file, --profile) come before the
subcommand, as in compose; each subcommand is a module `compose_<name>` with
`configure(parser)` and `execute(ctx, args) -> exit code`, where `ctx` is a
ComposeContext: the CLI's Context plus the project options and the project, loaded on
first use (commands such as `ls`, or `down -p NAME`, never read a file).
"""

from __future__ import annotations

import argparse
import importlib
import os

from estiba.cli.base import CommandParser, Context, UsageError
from estiba.cli.commands import CommandInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from estiba.compose.model import Project

__all__ = ["SUBCOMMANDS", "ComposeContext", "configure", "execute"]

SHORT_HELP = True


def _s(name: str, usage: str, summary: str) -> CommandInfo:
    return CommandInfo(f"estiba.cli.commands.compose_{name}", usage, summary)


SUBCOMMANDS: dict[str, CommandInfo] = {
    "build": _s("build", "[OPTIONS] [SERVICE...]", "Build or rebuild services"),
    "config": _s("config", "[OPTIONS] [SERVICE...]", "Parse, resolve and render compose file in canonical format"),
    "create": _s("create", "[OPTIONS] [SERVICE...]", "Creates containers for a service"),
    "down": _s("down", "[OPTIONS] [SERVICES]", "Stop and remove containers, networks"),
    "exec": _s("exec", "[OPTIONS] SERVICE COMMAND [ARGS...]", "Execute a command in a running container"),
    "images": _s("images", "[OPTIONS] [SERVICE...]", "List images used by the created containers"),
    "kill": _s("kill", "[OPTIONS] [SERVICE...]", "Force stop service containers"),
    "logs": _s("logs", "[OPTIONS] [SERVICE...]", "View output from containers"),
    "ls": _s("ls", "[OPTIONS]", "List running compose projects"),
    "pause": _s("pause", "[SERVICE...]", "Pause services"),
    "port": _s("port", "[OPTIONS] SERVICE PRIVATE_PORT", "Print the public port for a port binding"),
    "ps": _s("ps", "[OPTIONS] [SERVICE...]", "List containers"),
    "pull": _s("pull", "[OPTIONS] [SERVICE...]", "Pull service images"),
    "push": _s("push", "[OPTIONS] [SERVICE...]", "Push service images"),
    "restart": _s("restart", "[OPTIONS] [SERVICE...]", "Restart service containers"),
    "restore": _s("restore", "[OPTIONS] SNAPSHOT", "Restore the project's containers and volumes from a snapshot"),
    "rm": _s("rm", "[OPTIONS] [SERVICE...]", "Removes stopped service containers"),
    "run": _s("run", "[OPTIONS] SERVICE [COMMAND] [ARGS...]", "Run a one-off command on a service"),
    "snapshot": _s(
        "snapshot", "[create] [NAME] | ls | rm NAME...", "Snapshot the project's containers and volumes"
    ),
    "start": _s("start", "[SERVICE...]", "Start services"),
    "stop": _s("stop", "[OPTIONS] [SERVICE...]", "Stop services"),
    "top": _s("top", "[SERVICES...]", "Display the running processes"),
    "unpause": _s("unpause", "[SERVICE...]", "Unpause services"),
    "up": _s("up", "[OPTIONS] [SERVICE...]", "Create and start containers"),
    "version": _s("version", "[OPTIONS]", "Show the Estiba compose version information"),
}


class ComposeContext(Context):
    """The CLI context plus the project options; the project is loaded once, on demand."""

    def __init__(self, parent: Context, options: argparse.Namespace) -> None:
        super().__init__(parent.host, parent.stdout, parent.stderr)
        self._client = parent._client
        self.options = options
        self._project: Project | None = None
        self._services: list[str] | None = None
        self._interpolate = True

    def project(self, services: list[str] | None = None, *, interpolate: bool = True) -> Project:
        """The resolved project; `services` named on the command line enable their
        profiles and dependencies, as in compose. `interpolate=False` (config
        --no-interpolate) leaves ${VAR} as written."""
        if self._project is None or services != self._services or interpolate != self._interpolate:
            from estiba.compose.loader import load_project

            opts = self.options
            self._project = load_project(
                opts.file or None,
                project_directory=opts.project_directory,
                project_name=opts.project_name,
                env_files=opts.env_file or None,
                profiles=opts.profile or None,
                services=services or None,
                interpolate=interpolate,
            )
            self._services = services
            self._interpolate = interpolate
            for warning in getattr(self._project, "warnings", []) or []:
                self.stderr.write(f"WARN[0000] {warning}\n")
        return self._project

    def project_name(self) -> str:
        """-p (or COMPOSE_PROJECT_NAME) when given, else the loaded project's name; for
        commands that act on what the engine has, which need no file when -p is given."""
        if self.options.project_name:
            from estiba.compose.names import normalize_project_name

            return normalize_project_name(self.options.project_name, explicit=True)
        env_name = os.environ.get("COMPOSE_PROJECT_NAME")
        if env_name and not self.options.file:
            from estiba.compose.names import normalize_project_name

            return normalize_project_name(env_name, explicit=True)
        return self.project().name


def usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS) + 2
    lines = [
        "Usage:  estiba compose [OPTIONS] COMMAND",
        "",
        "Define and run multi-container applications with Estiba",
        "",
        "Options:",
        "      --env-file stringArray       Specify an alternate environment file",
        "  -f, --file stringArray           Compose configuration files",
        "      --profile stringArray        Specify a profile to enable",
        "      --project-directory string   Specify an alternate working directory",
        "  -p, --project-name string        Project name",
        "",
        "Commands:",
    ]
    lines += [f"  {name.ljust(width)}{info.summary}" for name, info in SUBCOMMANDS.items()]
    lines += ["", "Run 'estiba compose COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--file", action="append", default=[])
    parser.add_argument("-p", "--project-name")
    parser.add_argument("--project-directory")
    parser.add_argument("--env-file", action="append", default=[])
    parser.add_argument("--profile", action="append", default=[])
    parser.add_argument("--ansi", choices=("never", "always", "auto"), default="auto")
    parser.add_argument("--progress", choices=("auto", "tty", "plain", "quiet"), default="auto")
    parser.add_argument("--parallel", type=int, default=-1)
    parser.add_argument("--compatibility", action="store_true")
    parser.add_argument("command", nargs="?")
    parser.add_argument("arguments", nargs=argparse.REMAINDER)


def execute(ctx: Context, args: argparse.Namespace) -> int:
    if not args.command:
        ctx.stdout.write(usage())
        return 0
    info = SUBCOMMANDS.get(args.command)
    if info is None:
        raise UsageError(f"unknown command: {args.command}", "compose")
    if args.profile == [] and os.environ.get("COMPOSE_PROFILES"):
        args.profile = [p for p in os.environ["COMPOSE_PROFILES"].split(",") if p]
    module = importlib.import_module(info.module)
    parser = CommandParser(
        f"compose {args.command}", info.usage, info.summary, getattr(module, "SHORT_HELP", True)
    )
    module.configure(parser)
    parsed = parser.parse_args(args.arguments)
    return int(module.execute(ComposeContext(ctx, args), parsed) or 0)
