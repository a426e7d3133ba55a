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
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    overrides: dict[str, str | int | None]


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
    a("--bip", default=None, help="the default bridge's address and prefix (172.30.0.1/24)")
    a("-b", "--bridge", default=None, help="the default bridge's device name (estiba0)")
    a("--mtu", type=int, default=None, help="MTU of bridges and containers' interfaces (65535)")
    a("-v", "--version", action="version", version=f"estibad {__version__}")
    args = parser.parse_args(list(argv))
    overrides = {
        "data_root": args.data_root,
        "exec_root": args.exec_root,
        "host": args.host,
        "group": args.group,
        "default_runtime": args.default_runtime,
        "log_level": args.log_level,
        "bip": args.bip,
        "bridge": args.bridge,
        "mtu": args.mtu,
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
            health = getattr(backends.containers, "health", None)
            if health is not None:
                await health.close()  # probes in flight ended while the stores are open
            registry = getattr(backends.images, "registry", None)
            if registry is not None:
                await registry.close()  # the pooled registry connections


@contextlib.contextmanager
def open_engine(config: DaemonConfig) -> Iterator[Backends]:
    """The roots made, the stores open, and the API's backends over them; closed on exit."""
    from estiba.api.backend import Backends
    from estiba.content import LocalContentStore
    from estiba.daemon.images_backend import StoreImageBackend
    from estiba.daemon.containers_backend import EngineContainers
    from estiba.daemon.exec_backend import EngineExecs
    from estiba.daemon.container_network import ContainerNetwork
    from estiba.daemon.networks_backend import EngineNetworks
    from estiba.daemon.system_backend import HostSystemBackend
    from estiba.distribution.registries import RegistryOptions
    from estiba.distribution.service import RegistryService
    from estiba.daemon.volumes_backend import ServiceVolumeBackend
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
        volumes = open_volumes(config.data_root, bus, containers)
        stack.callback(volumes.store.close)
        system = HostSystemBackend(
            containers=containers,
            images=images,
            events=bus,
            data_root=config.data_root,
            default_runtime=config.default_runtime,
            snapshotter=snapshotter,
            volumes=volumes,
        )
        registry = RegistryService(
            images,
            RegistryOptions(
                mirrors=config.registry_mirrors, insecure=config.insecure_registries
            ),
            snapshotter=snapshotter,
        )
        image_backend = StoreImageBackend(
            images, tmpdir=config.data_root / "tmp", events=bus, registry=registry,
            snapshots=snapshotter,
        )
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
        networks = _open_networks(config, containers, stack)
        network_backend = EngineNetworks(networks, containers, bus)
        container_backend.network = ContainerNetwork(networks, containers, config.exec_root)
        container_backend.volumes = volumes
        volume_backend = ServiceVolumeBackend(volumes, tmpdir=config.data_root / "tmp")
        build_backend = _open_builds(config, images, snapshotter, container_backend, registry, bus)
        stack.callback(build_backend.close)
        yield Backends(system, container_backend, EngineExecs(container_backend), image_backend,
                       network_backend, volumes=volume_backend, build=build_backend)


def _open_builds(
    config: DaemonConfig, images: object, snapshotter: object, containers: object,
    registry: object, bus: object,
) -> Any:
    """The classic builder: its cache in `build/cache.db`, RUN through the containers."""
    from estiba.daemon.build_backend import EngineBuilds

    builds = EngineBuilds(
        images=images, snapshots=snapshotter, containers=containers, data_root=config.data_root,
        exec_root=config.exec_root, registry=registry, events=bus,
    )  # fmt: skip
    try:
        builds.cleanup()
    except EstibaError as exc:  # the daemon serves on; the leftovers stay for next time
        log.warning("cleaning up after interrupted builds: %s", exc)
    return builds


def open_volumes(data_root: Path, bus: object, containers: object) -> Any:
    """The volume service: `volumes.db` and `volumes/` under the data root; a volume with a
    device stays mounted while a running container uses it."""
    from estiba.volumes import LocalDriver, VolumeService, VolumeStore

    def running(container_id: str) -> bool:
        try:
            return bool(containers.get(container_id).running)  # type: ignore[attr-defined]
        except EstibaError:
            return False

    service = VolumeService(
        VolumeStore(data_root / "volumes.db"), LocalDriver(data_root / "volumes"),
        events=bus, running=running,
    )
    service.cleanup()
    return service


def _open_networks(config: DaemonConfig, containers: object, stack: contextlib.ExitStack) -> object:
    """The network manager, its bridges, DNS and rules restored from its store; endpoints
    of containers that are not running any more are dropped. A host without nftables or
    netlink still serves everything else: the failure is logged, networks fail on use."""
    from estiba.daemon.container_network import link_targets
    from estiba.network import open_manager

    manager = open_manager(config.data_root, config.exec_root, pools=config.default_address_pools,
                           bip=config.bip, bridge=config.bridge, table=config.nftables_table,
                           mtu=config.mtu)
    stack.callback(manager.close)
    manager.links_of = partial(link_targets, containers)  # the DNS answers links' aliases

    def running(container_id: str) -> bool:
        try:
            return bool(containers.get(container_id).running)  # type: ignore[attr-defined]
        except EstibaError:
            return False

    def exists(container_id: str) -> bool:
        try:
            containers.get(container_id)  # type: ignore[attr-defined]
        except EstibaError:
            return False
        return True

    try:
        manager.restore(running=running, exists=exists)
    except Exception as exc:  # noqa: BLE001 - the daemon serves on without networking
        log.error("networking unavailable: %s", exc)
    return manager


if __name__ == "__main__":
    sys.exit(main())
