"""`estiba compose exec`: run a command in a service's running container; exit with its
code. A TTY by default when stdin is a terminal (-T turns it off), stdin attached."""

from __future__ import annotations

import argparse
import os
import sys

from estiba.cli.base import Context, UsageError


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-d", "--detach", action="store_true", help="Detached mode: Run command in the background")
    a("-e", "--env", action="append", default=[], help="Set environment variables")
    a("-i", "--interactive", action="store_true", default=True, help=argparse.SUPPRESS)
    a("-t", "--tty", action="store_true", default=True, help=argparse.SUPPRESS)
    a("-T", "--no-TTY", dest="no_tty", action="store_true",
      help="Disable pseudo-TTY allocation. By default `exec` allocates a TTY")
    a("-u", "--user", default="", help="Run the command as this user")
    a("-w", "--workdir", default="", help="Path to workdir directory for this command")
    a("--index", type=int, help="Index of the container if service has multiple replicas")
    a("--privileged", action="store_true", help="Give extended privileges to the process")
    a("service", metavar="SERVICE")
    a("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.commands.exec import exit_code_of
    from estiba.cli.container_options import parse_env
    from estiba.cli.stdio import Session
    from estiba.compose.targets import scope, service_container

    if not args.command:
        raise UsageError("requires at least 2 arguments", "compose exec")
    container = service_container(scope(ctx, [args.service]), args.service, args.index)
    tty = not args.no_tty and _stdin_is_terminal()
    attach = not args.detach
    body = {
        "User": args.user,
        "Privileged": args.privileged,
        "Tty": tty,
        "AttachStdin": attach,
        "AttachStdout": attach,
        "AttachStderr": attach,
        "Detach": args.detach,
        "Env": parse_env(args.env, []) or None,
        "WorkingDir": args.workdir,
        "Cmd": list(args.command),
    }
    client = ctx.client
    exec_id = client.post(f"/containers/{container['Id']}/exec", body)["Id"]
    if args.detach:
        client.post(f"/exec/{exec_id}/start", {"Detach": True, "Tty": tty})
        return 0
    ctx.stdout.flush()
    connection = client.hijack(f"/exec/{exec_id}/start", body={"Detach": False, "Tty": tty})
    session = Session(connection, tty=tty, stdin=True,
                      resize=lambda h, w: client.post(f"/exec/{exec_id}/resize", h=h, w=w))
    session.run()
    return exit_code_of(client, exec_id, 10)


def _stdin_is_terminal() -> bool:
    try:
        return os.isatty(sys.stdin.fileno())
    except (OSError, ValueError):
        return False
