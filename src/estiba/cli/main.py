"""The `estiba` entry point: global flags, dispatch through the lazy command table, and the
one place where errors become a line on stderr and an exit code.

Exit codes follow docker's: 0, 1 for failures, 125 when `run`/`create` fail before the
container runs (bad flags, daemon errors), 126 and 127 when its command cannot be
executed or found, the container's own code for an attached `run`, 130 on Ctrl-C.
"""

from __future__ import annotations

import sys

from estiba.cli.base import Context, ManyErrors, UsageError
from estiba.cli.commands import ALIASES, COMMANDS, GROUPS, CommandInfo
from estiba.errors import EstibaError

TYPE_CHECKING = False  # typing costs the CLI milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import IO

__all__ = ["exit_code_for", "group_usage", "main", "resolve", "usage"]

_CREATING = ("run", "create", "container run", "container create")


def usage() -> str:
    width = max(len(name) for name in COMMANDS) + 2
    groups = [name for name in COMMANDS if name in GROUPS]
    lines = [
        "Usage:  estiba [OPTIONS] COMMAND",
        "",
        "A container platform that speaks the Docker Engine API",
        "",
        "Options:",
        "  -H, --host string   Daemon socket to connect to (ESTIBA_HOST, DOCKER_HOST)",
        "  -v, --version       Print version information and quit",
        "  -h, --help          Print usage",
        "",
        "Management Commands:",
    ]
    lines += [f"  {name.ljust(width)}{COMMANDS[name].summary}" for name in groups]
    lines += ["", "Commands:"]
    lines += [
        f"  {name.ljust(width)}{info.summary}"
        for name, info in COMMANDS.items()
        if name not in GROUPS
    ]
    lines += ["", "Run 'estiba COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"


def group_usage(group: str) -> str:
    """`estiba image --help`, laid out as docker lays out its management commands."""
    table = GROUPS[group]
    width = max(11, *(len(name) for name in table)) + 1
    lines = [f"Usage:  estiba {group} COMMAND", "", COMMANDS[group].summary, "", "Commands:"]
    lines += [f"  {name.ljust(width)}{table[name].summary}" for name in sorted(table)]
    lines += ["", f"Run 'estiba {group} COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"


class _Unknown(Exception):
    """`estiba image bogus`: docker's message and exit code 1, not a usage error."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def resolve(argv: list[str]) -> tuple[str, CommandInfo | None, list[str]]:
    """The command named by argv (a group's subcommand is "group sub"), its table entry
    (None: show the group's help) and its own arguments."""
    name = argv[0]
    info = COMMANDS.get(name)
    if info is None:
        raise _Unknown(f"estiba: '{name}' is not an estiba command.\nSee 'estiba --help'\n")
    if name not in GROUPS:
        return name, info, argv[1:]
    rest = argv[1:]
    if not rest or rest[0] in ("-h", "--help"):
        return name, None, rest
    if rest[0].startswith("-"):
        raise UsageError(f"unknown flag: {rest[0]}", name)
    sub = ALIASES.get(name, {}).get(rest[0], rest[0])
    found = GROUPS[name].get(sub)
    if found is None:
        raise _Unknown(
            f"estiba: unknown command: estiba {name} {rest[0]}\n\n"
            f"Usage:  estiba {name} COMMAND\n\n"
            f"Run 'estiba {name} --help' for more information\n"
        )
    return f"{name} {sub}", found, rest[1:]


def _split_globals(argv: list[str]) -> tuple[dict[str, str | bool], list[str]]:
    """Global flags come before the command name; the rest belongs to the command."""
    options: dict[str, str | bool] = {}
    index = 0
    while index < len(argv) and argv[index].startswith("-"):
        arg = argv[index]
        if arg in ("-H", "--host"):
            if index + 1 >= len(argv):
                raise UsageError(f"flag needs an argument: {arg}", "")
            options["host"] = argv[index + 1]
            index += 2
            continue
        if arg.startswith("--host="):
            options["host"] = arg.split("=", 1)[1]
        elif arg.startswith("-H") and len(arg) > 2:
            options["host"] = arg[2:]
        elif arg in ("-v", "--version"):
            options["version"] = True
        elif arg in ("-h", "--help"):
            options["help"] = True
        else:
            raise UsageError(f"unknown flag: {arg}", "")
        index += 1
    return options, argv[index:]


def exit_code_for(exc: BaseException, command: str) -> int:
    """docker's exit codes for a failure of `command`."""
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, UsageError):
        return 125
    if command in _CREATING and isinstance(exc, EstibaError):
        text = exc.message.lower()
        if "executable file not found" in text or "no such file or directory" in text:
            return 127
        if "permission denied" in text:
            return 126
        return 125
    return 1


def error_lines(exc: EstibaError) -> list[str]:
    """One line per failure; the daemon's answers read as docker prints them."""
    errors = exc.errors if isinstance(exc, ManyErrors) else [exc]
    lines = []
    for error in errors:
        if getattr(error, "status", None) is not None:
            lines.append(f"Error response from daemon: {error.message}")
        else:
            lines.append(str(error) if error.message else type(error).__name__)
    return lines


def main(argv: list[str] | None = None, stderr: IO[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    err = stderr or sys.stderr
    command = ""
    try:
        options, rest = _split_globals(args)
        if options.get("version"):
            from estiba import __version__

            print(f"Estiba version {__version__}")
            return 0
        if options.get("help") or not rest or rest[0] == "help":
            print(usage(), end="")
            return 0
        try:
            command, info, arguments = resolve(rest)
        except _Unknown as exc:
            err.write(exc.text)
            return 1
        if info is None:
            print(group_usage(command), end="")
            return 0
        import importlib

        from estiba.cli.base import CommandParser
        from estiba.cli.client import resolve_host

        module = importlib.import_module(info.module)
        short_help = getattr(module, "SHORT_HELP", True)
        parser = CommandParser(command, info.usage, info.summary, short_help)
        module.configure(parser)
        parsed = parser.parse_args(arguments)
        ctx = Context(resolve_host(options.get("host")))  # type: ignore[arg-type]
        return int(module.execute(ctx, parsed) or 0)
    except UsageError as exc:
        prog = f"estiba {exc.command}".rstrip()
        err.write(f"{prog}: {exc.message}\nSee '{prog} --help'.\n")
        return exit_code_for(exc, command)
    except EstibaError as exc:
        err.write("".join(line + "\n" for line in error_lines(exc)))
        return exit_code_for(exc, command)
    except KeyboardInterrupt as exc:
        return exit_code_for(exc, command)
    except BrokenPipeError:
        return 0
    finally:
        try:
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):
            pass


if __name__ == "__main__":
    sys.exit(main())
