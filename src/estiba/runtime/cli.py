"""`estiba-runtime`: runc's command line over the estiba.runtime library.

Each command is a small function that calls one library function. Errors become one
line on stderr (and in the --log file) and exit status 1; run and exec exit with the
container process's own status.
"""

from __future__ import annotations

import argparse
import os
import sys

from estiba.errors import EstibaError

PROG = "estiba-runtime"


COMMANDS = (
    "create", "run", "start", "state", "pause", "resume", "kill", "delete", "exec", "list",
    "ps", "events", "features", "spec", "update",
)
_GLOBAL_WITH_VALUE = ("--root", "--log", "--log-format", "--rootless")


class _Unused:
    """Stands in for the parser of a command that is not on this command line: building
    every subparser costs about 10 ms, a quarter of what `run` itself needs."""

    def add_argument(self, *args, **kwargs) -> None:
        pass


def command_in(argv: list[str]) -> str | None:
    """The command named on the command line, skipping global options and their values."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _GLOBAL_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (with `only`) the global options and that one command."""
    parser = argparse.ArgumentParser(prog=PROG, description="Estiba's OCI runtime (runc's command line).")
    parser.add_argument("--root", default=os.environ.get("ESTIBA_RUNTIME_ROOT", "/run/estiba-runtime"),
                        help="state directory (default /run/estiba-runtime)")
    parser.add_argument("--log", help="also write errors and warnings to this file")
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    parser.add_argument("--debug", action="store_true", help="accepted for runc compatibility")
    parser.add_argument("--systemd-cgroup", action="store_true", help="not supported: cgroupfs only")
    parser.add_argument("--rootless", default="auto", help="accepted for runc compatibility")
    parser.add_argument("--version", "-v", action="store_true", help="print the version")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        if only is not None and name != only:
            return _Unused()
        return commands.add_parser(name, help=help_text, description=help_text)

    for name, help_text in (("create", "create a container"), ("run", "create and start a container")):
        sub = command(name, help_text)
        sub.add_argument("--bundle", "-b", default=".", help="bundle directory (default: current)")
        sub.add_argument("--console-socket", help="unix socket that receives the pty master")
        sub.add_argument("--pid-file", help="write the container process's pid here")
        sub.add_argument("--no-pivot", action="store_true", help="chroot instead of pivot_root")
        sub.add_argument("--no-new-keyring", action="store_true", help="accepted; no keyring is made")
        sub.add_argument("--preserve-fds", type=int, default=0, help="pass N extra fds (from 3)")
        if name == "run":
            sub.add_argument("--detach", "-d", action="store_true", help="do not wait for the container")
            sub.add_argument("--keep", action="store_true", help="do not delete the container after it exits")
        sub.add_argument("id")

    for name, help_text in (("start", "start a created container"), ("state", "print a container's state"),
                            ("pause", "freeze every process of a container"),
                            ("resume", "thaw a paused container")):
        command(name, help_text).add_argument("id")

    sub = command("kill", "send a signal to a container's process")
    sub.add_argument("--all", "-a", action="store_true", help="signal every process in the container")
    sub.add_argument("id")
    sub.add_argument("signal", nargs="?", default="SIGTERM")

    sub = command("delete", "delete a container's resources")
    sub.add_argument("--force", "-f", action="store_true", help="kill it first if it is running")
    sub.add_argument("id")

    sub = command("exec", "run a process in a running container")
    sub.add_argument("--console-socket")
    sub.add_argument("--cwd")
    sub.add_argument("--env", "-e", action="append", default=[])
    sub.add_argument("--tty", "-t", action="store_true")
    sub.add_argument("--user", "-u", help="uid[:gid]")
    sub.add_argument("--additional-gids", "-g", action="append", type=int, default=[])
    sub.add_argument("--process", "-p", help="JSON file with the process to run")
    sub.add_argument("--detach", "-d", action="store_true")
    sub.add_argument("--pid-file")
    sub.add_argument("--no-new-privs", action="store_true")
    sub.add_argument("--cap", "-c", action="append", default=[])
    sub.add_argument("--preserve-fds", type=int, default=0)
    sub.add_argument("--process-label", help="accepted; SELinux is not supported")
    sub.add_argument("--apparmor", help="accepted; AppArmor is not supported")
    sub.add_argument("id")
    sub.add_argument("args", nargs=argparse.REMAINDER)

    sub = command("list", "list containers")
    sub.add_argument("--format", "-f", choices=("table", "json"), default="table")
    sub.add_argument("--quiet", "-q", action="store_true")

    sub = command("ps", "list a container's processes")
    sub.add_argument("--format", "-f", choices=("table", "json"), default="table")
    sub.add_argument("id")
    sub.add_argument("ps_args", nargs=argparse.REMAINDER)

    sub = command("events", "print a container's stats and OOM events")
    sub.add_argument("--stats", action="store_true", help="print one stats event and exit")
    sub.add_argument("--interval", default="5s", help="stats interval, e.g. 5s or 500ms")
    sub.add_argument("id")

    sub = command("update", "change a running container's cgroup limits")
    sub.add_argument("--resources", "-r", help='JSON file of OCI linux.resources ("-" for stdin)')
    for flag in ("--memory", "--memory-reservation", "--memory-swap"):
        sub.add_argument(flag, help="bytes, or a size like 64m (-1 unlimited)")
    for flag in ("--cpu-period", "--cpu-quota", "--cpu-share", "--pids-limit", "--blkio-weight"):
        sub.add_argument(flag, type=int)
    sub.add_argument("--cpuset-cpus")
    sub.add_argument("--cpuset-mems")
    sub.add_argument("id")

    command("features", "print the features this runtime supports")

    sub = command("spec", "write a default config.json")
    sub.add_argument("--bundle", "-b", default=".")
    sub.add_argument("--rootless", action="store_true")
    sub.add_argument("--args", nargs="+", help="process args instead of sh")
    sub.add_argument("--no-terminal", action="store_true", help="set process.terminal to false")
    return parser


def _interval(text: str) -> float:
    from estiba.errors import InvalidArgument

    try:
        if text.endswith("ms"):
            return float(text[:-2]) / 1000
        return float(text.rstrip("s"))
    except ValueError as exc:
        raise InvalidArgument(f'--interval "{text}": use a duration like 5s or 500ms') from exc


def _print_json(data) -> None:
    import json

    print(json.dumps(data, indent=2))


def _dispatch(args: argparse.Namespace) -> int:  # noqa: C901 - a flat command table
    root = args.root
    command = args.command
    if command == "create":
        from estiba.runtime.container import create

        create(args.id, args.bundle, root=root, console_socket=args.console_socket,
               pid_file=args.pid_file, no_pivot=args.no_pivot, preserve_fds=args.preserve_fds)
        return 0
    if command == "run":
        from estiba.runtime.run import run

        return run(args.id, args.bundle, root=root, console_socket=args.console_socket,
                   pid_file=args.pid_file, detach=args.detach, no_pivot=args.no_pivot,
                   keep=args.keep, preserve_fds=args.preserve_fds)
    if command == "start":
        from estiba.runtime.container import start

        start(args.id, root=root)
        return 0
    if command == "state":
        from estiba.runtime.container import state_of

        _print_json(state_of(args.id, root=root))
        return 0
    if command == "kill":
        from estiba.runtime.container import kill

        kill(args.id, args.signal, all_processes=args.all, root=root)
        return 0
    if command == "delete":
        from estiba.runtime.container import delete

        delete(args.id, force=args.force, root=root)
        return 0
    if command in ("pause", "resume"):
        from estiba.runtime import container

        getattr(container, command)(args.id, root=root)
        return 0
    if command == "exec":
        from estiba.runtime.execute import ExecOptions, exec_process

        options = ExecOptions(
            process_file=args.process, args=tuple(args.args), env=tuple(args.env), cwd=args.cwd,
            user=args.user, additional_gids=tuple(args.additional_gids), tty=args.tty,
            cap=tuple(args.cap), no_new_privs=args.no_new_privs,
        )
        return exec_process(args.id, options, root=root, console_socket=args.console_socket,
                            pid_file=args.pid_file, detach=args.detach, preserve_fds=args.preserve_fds)
    if command == "list":
        return _list(args)
    if command == "ps":
        from estiba.runtime import events

        if args.format == "json":
            _print_json(events.pids(args.id, root=root))
        else:
            print(events.ps_table(args.id, list(args.ps_args), root=root))
        return 0
    if command == "events":
        from estiba.runtime import events

        if args.stats:
            print(events.dumps(events.stats_event(args.id, root=root)))
            return 0
        for event in events.stream(args.id, interval=_interval(args.interval), root=root):
            print(events.dumps(event), flush=True)
        return 0
    if command == "update":
        from estiba.runtime.container import update

        update(args.id, _update_resources(args), root=root)
        return 0
    if command == "features":
        from estiba.runtime.features import features

        _print_json(features())
        return 0
    if command == "spec":
        return _spec(args)
    raise AssertionError(command)


def _list(args: argparse.Namespace) -> int:
    from estiba.runtime.container import list_states

    states = list_states(root=args.root)
    if args.quiet:
        for state in states:
            print(state["id"])
    elif args.format == "json":
        _print_json(states)
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], s["owner"] or "root")
                 for s in states]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return 0


def _update_resources(args: argparse.Namespace) -> dict:
    """runc's `update`: the --resources document, then the single flags over it."""
    import json

    from estiba.errors import InvalidArgument
    from estiba.units import parse_bytes

    resources: dict = {}
    if args.resources:
        try:
            text = sys.stdin.read() if args.resources == "-" else open(args.resources).read()
            resources = json.loads(text)
        except (OSError, ValueError) as exc:
            raise InvalidArgument(f"--resources {args.resources}: {exc}") from exc
        if not isinstance(resources, dict):
            raise InvalidArgument(f"--resources {args.resources}: must be a JSON object")

    def size(text: str) -> int:
        return -1 if text == "-1" else parse_bytes(text)

    memory, cpu = resources.setdefault("memory", {}), resources.setdefault("cpu", {})
    for value, section, key, convert in (
        (args.memory, memory, "limit", size),
        (args.memory_reservation, memory, "reservation", size),
        (args.memory_swap, memory, "swap", size),
        (args.cpu_period, cpu, "period", int),
        (args.cpu_quota, cpu, "quota", int),
        (args.cpu_share, cpu, "shares", int),
        (args.cpuset_cpus, cpu, "cpus", str),
        (args.cpuset_mems, cpu, "mems", str),
    ):
        if value is not None:
            section[key] = convert(value)
    if args.pids_limit is not None:
        resources["pids"] = {"limit": args.pids_limit}
    if args.blkio_weight is not None:
        resources["blockIO"] = {"weight": args.blkio_weight}
    return resources


def _spec(args: argparse.Namespace) -> int:
    from pathlib import Path

    from estiba.errors import Conflict
    from estiba.runtime.specgen import default_spec, write_bundle

    bundle = Path(args.bundle)
    if (bundle / "config.json").exists():
        raise Conflict(f"{bundle / 'config.json'} already exists", hint="remove it first")
    spec = default_spec(args=args.args, terminal=not args.no_terminal and not args.args,
                        rootless=args.rootless)
    write_bundle(bundle, spec)
    return 0


def _log(args: argparse.Namespace | None, level: str, message: str) -> None:
    path = getattr(args, "log", None)
    if not path:
        return
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    if getattr(args, "log_format", "text") == "json":
        import json

        line = json.dumps({"level": level, "msg": message, "time": now})
    else:
        line = f'time="{now}" level={level} msg="{message}"'
    try:
        with open(path, "a") as handle:
            handle.write(line + "\n")
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser(command_in(argv))
    args = parser.parse_args(argv)
    if args.version:
        from estiba import __version__

        print(f"estiba-runtime version {__version__}\nspec: 1.0.2")
        return 0
    if not args.command:
        parser.print_help()
        return 2
    if args.systemd_cgroup:
        print(f"{PROG}: --systemd-cgroup is not supported: estiba-runtime manages cgroupfs directly",
              file=sys.stderr)
        return 1
    try:
        return _dispatch(args)
    except EstibaError as exc:
        message = str(exc)
    except OSError as exc:
        message = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    except KeyboardInterrupt:
        return 130
    _log(args, "error", message)
    print(f"{PROG}: {message}", file=sys.stderr)
    # As runc: a failed exec exits 255, apart from any exit code of the program itself.
    return 255 if args.command == "exec" else 1


if __name__ == "__main__":
    sys.exit(main())
