"""`estibad`: parse the flags, load the config, open the stores, serve until a signal.

Start-up order: roots, then stores, then the socket, so that a client that can connect
finds a daemon ready to answer. SIGTERM and SIGINT stop serving, remove the socket and
close the stores; the exit code is 0. A bad configuration is one line on stderr, exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from estiba import __version__
from estiba.daemon.config import DEFAULT_CONFIG_FILE, DaemonConfig, load_config
from estiba.errors import EstibaError

if TYPE_CHECKING:
    from estiba.api.backend import Backends

__all__ = ["main", "parse_args"]

log = logging.getLogger("estibad")

_LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
}


@dataclass(frozen=True)
class Invocation:
    config_file: Path
    config_file_given: bool
    overrides: dict[str, str | None]


def parse_args(argv: Sequence[str]) -> Invocation:
    parser = argparse.ArgumentParser(
        prog="estibad", description="Estiba's daemon: serves the Docker Engine API."
    )
    a = parser.add_argument
    a("--config-file", default=None, help=f"daemon configuration file ({DEFAULT_CONFIG_FILE})")
    a("--data-root", default=None, help="root of persistent state (/var/lib/estiba)")
    a("--exec-root", default=None, help="root of run-time state (/run/estiba)")
    a("-H", "--host", default=None, help="socket to serve on (unix:///run/estiba/estiba.sock)")
    a("-G", "--group", default=None, help="group owning the socket")
    a("--default-runtime", default=None, help="OCI runtime for containers (estiba)")
    a("-l", "--log-level", default=None, help="debug, info, warn, error or fatal")
    a("-v", "--version", action="version", version=f"estibad {__version__}")
    args = parser.parse_args(list(argv))
    overrides = {
        "data_root": args.data_root,
        "exec_root": args.exec_root,
        "host": args.host,
        "group": args.group,
        "default_runtime": args.default_runtime,
        "log_level": args.log_level,
    }
    given = args.config_file is not None
    return Invocation(Path(args.config_file or DEFAULT_CONFIG_FILE), given, overrides)


def main(argv: Sequence[str] | None = None) -> int:
    invocation = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = load_config(
            invocation.config_file, invocation.overrides, required=invocation.config_file_given
        )
    except EstibaError as exc:
        print(f"estibad: {exc}", file=sys.stderr)
        return 1
    logging.basicConfig(
        level=_LOG_LEVELS[config.log_level],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if config.log_level != "debug":
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        asyncio.run(serve(config))
    except EstibaError as exc:
        print(f"estibad: {exc}", file=sys.stderr)
        return 1
    return 0


async def serve(config: DaemonConfig) -> None:
    """Serve the API until SIGTERM or SIGINT."""
    from estiba.api.app import build_app
    from estiba.api.server import ApiServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    with open_engine(config) as backends:
        # Live restore and restart policies before the first request is served.
        restore = getattr(backends.containers, "restore", None)
        if restore is not None:
            await restore()
        server = ApiServer(build_app(backends), config.socket, group=config.group)
        await server.start()
        log.info("estibad %s serving the API on %s", __version__, config.socket)
        try:
            await stop.wait()
            log.info("shutting down")
        finally:
            await server.stop()


@contextlib.contextmanager
def open_engine(config: DaemonConfig) -> Iterator[Backends]:
    """The roots made, the stores open, and the API's backends over them; closed on exit."""
    from estiba.api.backend import Backends
    from estiba.content import LocalContentStore
    from estiba.daemon.images_backend import StoreImageBackend
    from estiba.daemon.containers_backend import EngineContainers
    from estiba.daemon.exec_backend import EngineExecs
    from estiba.daemon.system_backend import HostSystemBackend
    from estiba.engine.events import EventBus
    from estiba.engine.store import ContainerStore
    from estiba.images import ImageStore, ImageUser
    from estiba.snapshots import OverlaySnapshotter

    for root in (config.data_root, config.exec_root, config.socket.parent):
        root.mkdir(mode=0o711, parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        containers = ContainerStore(config.data_root / "containers.db")
        stack.callback(containers.close)

        def image_users(image_id: str) -> list[ImageUser]:
            # rmi is refused (409) while a stored container uses the image.
            records = containers.list(all=True)
            return [ImageUser(r.id, r.running) for r in records if r.image_id == image_id]

        content = LocalContentStore(config.data_root / "content")
        images = ImageStore(config.data_root / "images.db", content, users=image_users)
        stack.callback(images.close)
        bus = EventBus()
        snapshotter = OverlaySnapshotter(config.data_root / "snapshots")
        stack.callback(snapshotter.close)
        system = HostSystemBackend(
            containers=containers,
            images=images,
            events=bus,
            data_root=config.data_root,
            default_runtime=config.default_runtime,
            snapshotter=snapshotter,
        )
        image_backend = StoreImageBackend(images, tmpdir=config.data_root / "tmp", events=bus)
        container_backend = EngineContainers(
            containers=containers,
            images=images,
            snapshotter=snapshotter,
            events=bus,
            exec_root=config.exec_root,
            data_root=config.data_root,
            runtime=config.default_runtime,
        )
        stack.callback(container_backend.close)
        yield Backends(system, container_backend, EngineExecs(container_backend), image_backend)


if __name__ == "__main__":
    sys.exit(main())
