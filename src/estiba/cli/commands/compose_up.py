"""`estiba compose up`: converge the project (networks, volumes, containers: only what
changed is recreated), start it in dependency order, then either return (-d, --wait) or
stream every container's prefixed logs until they all exit, one exits
(--abort-on-container-exit, --exit-code-from) or Ctrl-C stops the project."""

from __future__ import annotations

import argparse
import contextlib
import queue
import threading
import time

from estiba.cli.commands._compose_engine import add_timeout, engine
from estiba.errors import EstibaError, InvalidArgument, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from estiba.compose.engine import ConvergeOptions, Engine

POLL_SECONDS = 0.3


def add_convergence_flags(parser: argparse.ArgumentParser) -> None:
    """The flags `up` and `create` share."""
    a = parser.add_argument
    a("--build", action="store_true", help="Build images before starting containers")
    a("--no-build", action="store_true", help="Don't build an image, even if it's missing")
    a("--force-recreate", action="store_true", help="Recreate containers even if their configuration and image haven't changed")
    a("--no-recreate", action="store_true", help="If containers already exist, don't recreate them")
    a("--remove-orphans", action="store_true", help="Remove containers for services not defined in the Compose file")
    a("--scale", action="append", default=[], metavar="SERVICE=NUM", help="Scale SERVICE to NUM instances")
    a("--pull", choices=("always", "missing", "never"), default=None, help='Pull image before running ("always"|"missing"|"never")')
    a("--quiet-pull", action="store_true", help="Pull without printing progress information")
    a("--no-deps", action="store_true", help="Don't start linked services")
    a("-V", "--renew-anon-volumes", action="store_true", help="Recreate anonymous volumes instead of retrieving data from the previous containers")


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-d", "--detach", action="store_true", help="Detached mode: Run containers in the background")
    add_convergence_flags(parser)
    a("--no-start", action="store_true", help="Don't start the services after creating them")
    a("--wait", action="store_true", help="Wait for services to be running|healthy. Implies detached mode. Changed running containers are replaced without downtime")
    a("--wait-timeout", type=int, default=None, help="timeout waiting for application to be running|healthy")
    a("--abort-on-container-exit", action="store_true", help="Stops all containers if any container was stopped. Incompatible with -d")
    a("--exit-code-from", default=None, metavar="SERVICE", help="Return the exit code of the selected service container. Implies --abort-on-container-exit")
    a("--attach-dependencies", action="store_true", help="Automatically attach to log output of dependent services")
    a("--attach", action="append", default=[], metavar="SERVICE", help="Restrict attaching to the specified services")
    a("--no-attach", action="append", default=[], metavar="SERVICE", help="Do not attach (stream logs) to the specified services")
    a("--no-color", action="store_true", help="Produce monochrome output")
    a("--no-log-prefix", action="store_true", help="Don't print prefix in logs")
    a("--timestamps", action="store_true", help="Show timestamps")
    add_timeout(parser)
    a("services", nargs="*", metavar="SERVICE")


def _scale(specs: list[str]) -> dict[str, int]:
    found = {}
    for spec in specs:
        name, eq, count = spec.partition("=")
        if not eq or not count.strip().isdigit():
            raise InvalidArgument(f"invalid --scale {spec!r}: use SERVICE=NUM")
        found[name.strip()] = int(count)
    return found


def prepare(ctx, args: argparse.Namespace) -> tuple[Engine, list[str], ConvergeOptions]:  # type: ignore[no-untyped-def]
    """Flags checked, images there (built or pulled), the engine and its options."""
    from estiba.compose.engine import ConvergeOptions, Recreate, select_services

    if args.force_recreate and args.no_recreate:
        raise InvalidArgument("--force-recreate and --no-recreate are incompatible")
    if args.build and args.no_build:
        raise InvalidArgument("--build and --no-build are incompatible")
    eng = engine(ctx, args.services)
    services = select_services(eng.project, args.services, with_dependencies=not args.no_deps)
    ensure_images(ctx, eng, services, args)
    options = ConvergeOptions(
        recreate=Recreate.FORCE if args.force_recreate else Recreate.NEVER if args.no_recreate else Recreate.DIVERGED,
        scale=_scale(args.scale),
        remove_orphans=args.remove_orphans,
        timeout=getattr(args, "timeout", None),
        wait=getattr(args, "wait", False),
        wait_timeout=getattr(args, "wait_timeout", None),
        renew_anon_volumes=args.renew_anon_volumes,
    )
    return eng, services, options


def ensure_images(ctx, eng: Engine, services: list[str], args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    """Build what must be built (--build, or a missing image with `build:`), pull what is
    missing (or everything with --pull always): compose's ensureImagesExists. The
    builder's output goes to stderr: stdout stays for the logs."""
    from estiba.compose.images import ensure_image

    build = True if args.build else False if args.no_build else None
    for name in services:
        ensure_image(
            eng.client, eng.project, name, build=build, pull=args.pull,
            progress=None if args.quiet_pull and not eng.project.services[name].get("build") else eng.progress,
            out=ctx.stderr,
        )  # fmt: skip


def execute(ctx, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    if args.exit_code_from:
        args.abort_on_container_exit = True
    if args.wait:
        args.detach = True
    if args.detach and args.abort_on_container_exit:
        raise InvalidArgument("--abort-on-container-exit and --detach are incompatible")
    if args.no_start and (args.wait or args.abort_on_container_exit):
        raise InvalidArgument("--no-start is incompatible with --wait and --abort-on-container-exit")
    eng, services, options = prepare(ctx, args)
    if args.exit_code_from and args.exit_code_from not in services:
        raise NotFound(f"no such service: {args.exit_code_from}")
    if args.detach or args.no_start:
        eng.up(services, options, start=not args.no_start)
        return 0
    # Attached: logs flow while the project starts, as in compose.
    follower = Attached(ctx, eng, _attached(services, args), args, scale=options.scale)
    try:
        follower.begin()
        eng.up(services, options)
        return follower.run(services)
    except KeyboardInterrupt:
        ctx.stderr.write("Gracefully stopping... (press Ctrl+C again to force)\n")
        ctx.stderr.flush()
        follower.end()
        from estiba.compose.engine import Lifecycle

        life = Lifecycle(eng.client, eng.project.name, eng.project, eng.progress)
        try:
            life.stop(services, args.timeout)
        except KeyboardInterrupt:  # the second Ctrl-C: no more grace
            life.kill(services, "SIGKILL")
        return 130
    finally:
        follower.end()


def _attached(services: list[str], args: argparse.Namespace) -> list[str]:
    """Whose logs `up` streams: --attach, else the services named (with their
    dependencies when --attach-dependencies), else all; minus --no-attach."""
    for name in args.attach + args.no_attach:
        if name not in services:
            raise NotFound(f"no such service: {name}")
    if args.attach:
        chosen = list(args.attach)
    elif args.attach_dependencies or not args.services:
        chosen = list(services)
    else:
        chosen = list(args.services)
    return [s for s in chosen if s not in args.no_attach]


class Attached:
    """The logs of the attached services, and the watch over their containers' exits."""

    def __init__(self, ctx, eng: Engine, services: list[str], args: argparse.Namespace, *, scale: dict[str, int] | None = None) -> None:  # type: ignore[no-untyped-def]
        from estiba.compose.logs import LogPrinter, use_colour

        self.ctx = ctx
        self.eng = eng
        self.services = services
        self.args = args
        self.stop = threading.Event()
        colour = use_colour(ctx.options.ansi, args.no_color, ctx.stdout)
        # Only what this `up` makes them print: a restarted container's log has its
        # earlier runs too (compose attaches before starting, which comes to the same).
        self.printer = LogPrinter(
            eng.client, out=ctx.stdout, err=ctx.stdout, colour=colour,
            prefix=not args.no_log_prefix, timestamps=args.timestamps, stop=self.stop,
            since=f"{time.time():.9f}",
        )  # fmt: skip
        self.printer.reserve(*_display_names(eng, services, scale or {}))
        self._watcher: threading.Thread | None = None
        self._adding = threading.Event()
        self._followed: set[str] = set()
        # The project's container die/start events, read by a thread from `begin` on: a
        # container that a restart policy starts again within a poll is still seen to have
        # exited, and is followed again (its log stream ends at each exit).
        self._events: queue.Queue[dict] = queue.Queue()
        self._event_stream: Any = None

    def begin(self) -> None:
        """Follow the containers as they appear (created, recreated) while `up` runs."""
        self._watch_events()

        def keep_adding() -> None:
            while not self._adding.is_set():
                self._add_running()
                self._adding.wait(POLL_SECONDS)

        self._watcher = threading.Thread(target=keep_adding, daemon=True)
        self._watcher.start()

    def _add_running(self) -> None:
        """Follow every container that was started (one that already exited too)."""
        try:
            for container in self.eng.containers(self.services):
                if container.get("State") != "created" and container["Id"] not in self._followed:
                    self._followed.add(container["Id"])
                    self.printer.add(container)
        except EstibaError:
            pass

    def _watch_events(self) -> None:
        import json

        from estiba.cli.client import iter_json
        from estiba.compose import labels as L

        filters = {"type": ["container"], "event": ["die", "start"],
                   "label": [f"{L.PROJECT}={self.eng.project.name}", f"{L.ONEOFF}=False"]}
        try:
            self._event_stream = self.eng.client.open(
                "GET", "/events", {"filters": json.dumps(filters), "since": f"{time.time():.9f}"}
            )
        except EstibaError:
            return  # exits are still seen by polling

        def read() -> None:
            try:
                for event in iter_json(self._event_stream):
                    self._events.put(event)
            except (EstibaError, OSError, ValueError):
                pass  # closed by `end`, or the daemon went away: polling goes on

        threading.Thread(target=read, name="compose-events", daemon=True).start()

    def _exited(self, container_id: str, reported: set[str]) -> int | None:
        """Report a container's exit once (after its last lines): its code."""
        if container_id in reported:
            return None
        reported.add(container_id)
        try:
            document = self.eng.client.get(f"/containers/{container_id}/json")
        except EstibaError:
            return None
        self.printer.wait_for(container_id, timeout=2)  # its last lines before its exit line
        code = int((document.get("State") or {}).get("ExitCode") or 0)
        if "die" in self._last_action.get(container_id, ""):
            code = self._last_code.get(container_id, code)
        self._line(f"{_display(document)} exited with code {code}")
        return code

    def run(self, services: list[str]) -> int:
        """Until every attached container exited (0, or --exit-code-from's code), or, with
        --abort-on-container-exit, the first one did: then the project is stopped. A
        container its restart policy starts again is followed again."""
        args = self.args
        self._adding.set()
        if self._watcher is not None:
            self._watcher.join()
        self._add_running()
        reported: set[str] = set()
        self._last_action: dict[str, str] = {}
        self._last_code: dict[str, int] = {}
        wanted = set(self.services)
        exit_code = 0
        while True:
            exits: list[tuple[str, int | None]] = []
            try:
                event = self._events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                event = None
            while event is not None:
                actor = event.get("Actor") or {}
                ident, attributes = actor.get("ID", ""), actor.get("Attributes") or {}
                if attributes.get("com.docker.compose.service") in wanted and ident:
                    action = event.get("Action") or event.get("status") or ""
                    self._last_action[ident] = action
                    if action == "die":
                        self._last_code[ident] = int(attributes.get("exitCode") or 0)
                        exits.append((ident, self._last_code[ident]))
                    elif action == "start" and ident in reported:
                        reported.discard(ident)  # restarted by its restart policy
                        self.printer.add({"Id": ident, "Names": ["/" + attributes.get("name", ident[:12])],
                                          "Labels": attributes})
                try:
                    event = self._events.get_nowait()
                except queue.Empty:
                    event = None
            containers = self.eng.containers(self.services)
            for container in containers:  # exits the events did not bring (no stream)
                if container.get("State") in ("exited", "dead") and container["Id"] not in reported:
                    exits.append((container["Id"], None))
            for ident, _ in exits:
                code = self._exited(ident, reported)
                if code is None:
                    continue
                service = next((_service(c) for c in containers if c["Id"] == ident), "")
                if args.abort_on_container_exit and (not args.exit_code_from or service == args.exit_code_from):
                    return self._abort(services, code)
            running = [c for c in containers if c.get("State") not in ("exited", "dead", "created")]
            if not running and self._events.empty():
                if args.exit_code_from:
                    done = [c for c in containers if _service(c) == args.exit_code_from]
                    exit_code = self._exit_code(done[0]) if done else 0
                return exit_code

    def _abort(self, services: list[str], code: int) -> int:
        from estiba.compose.engine import Lifecycle

        self.ctx.stdout.write("Aborting on container exit...\n")
        self.ctx.stdout.flush()
        self.end()
        Lifecycle(self.eng.client, self.eng.project.name, self.eng.project, self.eng.progress).stop(services, self.args.timeout)
        if self.args.exit_code_from:
            done = [c for c in self.eng.containers([self.args.exit_code_from])]
            return self._exit_code(done[0]) if done else code
        return code

    def _exit_code(self, container: dict) -> int:
        document = self.eng.client.get(f"/containers/{container['Id']}/json")
        return int((document.get("State") or {}).get("ExitCode") or 0)

    def _line(self, text: str) -> None:
        self.ctx.stdout.write(text + "\n")
        self.ctx.stdout.flush()

    def end(self) -> None:
        self._adding.set()
        self.stop.set()
        self.printer.close()
        if self._event_stream is not None:
            with contextlib.suppress(OSError):
                self._event_stream.close()


def _display_names(eng: Engine, services: list[str], scale: dict[str, int]) -> list[str]:
    """The log prefixes of the services' containers-to-be (`web-1`, or container_name),
    in order: compose pads every prefix to the longest from the start."""
    from estiba.compose.engine import desired_scale

    names: list[str] = []
    for name in services:
        service = eng.project.services[name]
        if service.get("container_name"):
            names.append(service["container_name"])
            continue
        names.extend(f"{name}-{n}" for n in range(1, desired_scale(service, scale.get(name)) + 1))
    return names


def _display(container: dict) -> str:
    from estiba.compose.logs import display_name

    return display_name(container)


def _service(container: dict) -> str:
    from estiba.compose.labels import service_of

    return service_of(container)
