"""`estiba login`: check credentials with the registry (through the daemon's POST /auth),
then store them in Docker's config.json (0600) or its credential helper."""

from __future__ import annotations

import argparse
import sys

from estiba.cli.base import Context


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-u", "--username", default="", help="Username")
    a("-p", "--password", default="", help="Password")
    a("--password-stdin", action="store_true", help="Take the password from stdin")
    a("server", nargs="?", default="", metavar="SERVER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.distribution.credentials import (
        INDEX_SERVER,
        AuthConfig,
        credential_key,
        find_credentials,
        normalize_server,
        store_credentials,
    )
    from estiba.errors import InvalidArgument

    if args.password and args.password_stdin:
        raise InvalidArgument("--password and --password-stdin are mutually exclusive")
    if args.password_stdin:
        if not args.username:
            raise InvalidArgument("Must provide --username with --password-stdin")
        args.password = sys.stdin.read().rstrip("\r\n")
    elif args.password:
        ctx.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    domain = normalize_server(args.server)
    server = INDEX_SERVER if credential_key(domain) == INDEX_SERVER else domain
    username, password = args.username, args.password
    if not username or not password:
        stored = find_credentials(domain)
        if stored is not None and not username and not password:
            username, password = stored.username, stored.password
        if not username:
            username = _prompt("Username: ")
        if not password:
            import getpass

            password = getpass.getpass("Password: ")
    if not username or not password:
        raise InvalidArgument("Error: Username and password are required")
    auth = AuthConfig(username, password, server)
    answer = ctx.client.post("/auth", auth.to_json())
    token = (answer or {}).get("IdentityToken", "")
    if token:
        auth = AuthConfig(username, "", server, identity_token=token)
    store_credentials(domain, auth)
    ctx.out("Login Succeeded")
    return 0


def _prompt(text: str) -> str:
    if not sys.stdin.isatty():
        from estiba.errors import InvalidArgument

        raise InvalidArgument("Cannot perform an interactive login from a non TTY device")
    return input(text).strip()
