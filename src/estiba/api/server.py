"""Serving the API on a unix socket with the right owner and mode, from the first byte.

The socket is bound under a temporary name, given its mode and group, and only then
renamed into place: no client ever sees it with the umask's permissions. A socket that
still answers is another daemon's and is left alone; a dead one is replaced.
"""

from __future__ import annotations

import contextlib
import grp
import os
import secrets
import socket
import stat
from pathlib import Path

from aiohttp import web

from estiba.errors import Conflict, InvalidArgument

__all__ = ["ApiServer", "bind_unix_socket"]


class ApiServer:
    """An aiohttp application served on a unix socket: `await start()`, `await stop()`,
    or `async with ApiServer(...)`."""

    def __init__(
        self,
        app: web.Application,
        path: str | os.PathLike[str],
        *,
        mode: int = 0o660,
        group: str | int | None = None,
        shutdown_timeout: float = 5.0,
    ) -> None:
        self.app = app
        self.path = Path(path)
        self.mode = mode
        self.group = group
        self.shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._inode: tuple[int, int] | None = None

    async def start(self) -> None:
        # Streaming handlers end when their client leaves; the others are shielded by the
        # app so that a client hanging up never stops a state change halfway.
        runner = web.AppRunner(
            self.app, handler_cancellation=True, shutdown_timeout=self.shutdown_timeout
        )
        await runner.setup()
        try:
            sock = bind_unix_socket(self.path, mode=self.mode, group=self.group)
            found = self.path.stat()
            self._inode = (found.st_dev, found.st_ino)
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        self._unlink_if_ours()

    async def __aenter__(self) -> ApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _unlink_if_ours(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            found = self.path.stat()
            if (found.st_dev, found.st_ino) == self._inode:
                self.path.unlink()


def bind_unix_socket(
    path: Path, *, mode: int = 0o660, group: str | int | None = None, backlog: int = 128
) -> socket.socket:
    """A listening unix socket at `path` with `mode` and `group` set before it appears."""
    gid = _gid(group)
    _refuse_live_socket(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A short random name: the staging path must fit the 108-byte limit as well.
    staging = path.with_name(f".{secrets.token_hex(4)}")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        try:
            sock.bind(str(staging))
        except OSError as exc:
            raise InvalidArgument(
                f"cannot listen on {path}: {exc.strerror}", hint=_hint(path)
            ) from exc
        os.chmod(staging, mode)
        if gid is not None:
            os.chown(staging, -1, gid)
        sock.listen(backlog)
        os.replace(staging, path)
    except BaseException:
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        raise
    sock.setblocking(False)
    return sock


def _gid(group: str | int | None) -> int | None:
    if group is None or group == "":
        return None
    if isinstance(group, int):
        return group
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise InvalidArgument(
            f"group {group!r} does not exist", hint="create it (groupadd) or pick another"
        ) from None


def _refuse_live_socket(path: Path) -> None:
    try:
        found = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(found.st_mode):
        raise Conflict(
            f"{path} exists and is not a socket", hint="move it away or pick another path"
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        return  # nobody listens: a stale socket from a daemon that died
    finally:
        probe.close()
    raise Conflict(f"another daemon is listening on {path}", hint="stop it or pick another socket")


def _hint(path: Path) -> str:
    if len(os.fsencode(path)) > 100:
        return "unix socket paths must be shorter than 108 bytes"
    return "check the directory exists and is writable"
