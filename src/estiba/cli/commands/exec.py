"""`estiba exec`: run a command in a running container; exit with its code."""

from __future__ import annotations

import argparse
import time

from estiba.cli.base import Context
from estiba.cli.client import Client, quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-d", "--detach", action="store_true", help="Detached mode: run command in the background")
    a("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached")
    a("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    a("-e", "--env", action="append", default=[], help="Set environment variables")
    a("--env-file", action="append", default=[], help="Read in a file of environment variables")
    a("-u", "--user", default="", help="Username or UID (format: <name|uid>[:<group|gid>])")
    a("-w", "--workdir", default="", help="Working directory inside the container")
    a("--privileged", action="store_true", help="Give extended privileges to the command")
    a("container", metavar="CONTAINER")
    a("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def exec_body(args: argparse.Namespace) -> dict:
    from estiba.cli.container_options import parse_env

    env = parse_env(args.env, args.env_file)
    return {
        "User": args.user,
        "Privileged": args.privileged,
        "Tty": args.tty,
        "AttachStdin": args.interactive and not args.detach,
        "AttachStderr": not args.detach,
        "AttachStdout": not args.detach,
        "Detach": args.detach,
        "DetachKeys": "",
        "Env": env or None,
        "WorkingDir": args.workdir,
        "Cmd": list(args.command),
    }


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.base import UsageError

    if not args.command:
        raise UsageError("requires at least 2 arguments", "exec")
    from estiba.cli.stdio import check_tty

    check_tty(args.interactive and not args.detach, args.tty)
    client = ctx.client
    created = client.post(f"/containers/{quote_ref(args.container)}/exec", exec_body(args))
    exec_id = created["Id"]
    if args.detach:
        client.post(f"/exec/{exec_id}/start", {"Detach": True, "Tty": args.tty})
        return 0
    from estiba.cli.stdio import Session

    connection = client.hijack(f"/exec/{exec_id}/start", body={"Detach": False, "Tty": args.tty})
    session = Session(
        connection,
        tty=args.tty,
        stdin=args.interactive,
        resize=lambda h, w: client.post(f"/exec/{exec_id}/resize", h=h, w=w),
    )
    if session.run():
        return 0
    return exit_code_of(client, exec_id, 5)


def exit_code_of(client: Client, exec_id: str, timeout: float) -> int:
    """The exec's exit code once its stream has ended (waiting up to `timeout` for the
    engine to have recorded it)."""
    deadline = time.monotonic() + timeout
    while True:
        state = client.get(f"/exec/{exec_id}/json")
        if not state.get("Running") or time.monotonic() > deadline:
            return int(state.get("ExitCode") or 0)
        time.sleep(0.02)
