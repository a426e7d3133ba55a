"""`estiba compose run`: a one-off container of a service (`<project>-<service>-run-<hex>`,
labelled oneoff=True), its dependencies started first unless --no-deps; attached by
default, exit with the command's code."""

from __future__ import annotations

import argparse
import copy
import os
import shlex
import sys

from estiba.cli.base import Context, UsageError

SHORT_HELP = True


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-d", "--detach", action="store_true", help="Run container in background and print container ID")
    a("--rm", action="store_true", help="Automatically remove the container when it exits")
    a("--name", help="Assign a name to the container")
    a("--entrypoint", help="Override the entrypoint of the image")
    a("-e", "--env", action="append", default=[], help="Set environment variables")
    a("-l", "--label", action="append", default=[], help="Add or override a label")
    a("-u", "--user", help="Run as specified username or uid")
    a("-w", "--workdir", help="Working directory inside the container")
    a("-v", "--volume", action="append", default=[], help="Bind mount a volume")
    a("-p", "--publish", action="append", default=[], help="Publish a container's port(s) to the host")
    a("--service-ports", action="store_true",
      help="Run command with all service's ports enabled and mapped to the host")
    a("--use-aliases", action="store_true",
      help="Use the service's network aliases in the network(s) the container connects to")
    a("--no-deps", action="store_true", help="Don't start linked services")
    a("-T", "--no-TTY", dest="no_tty", action="store_true",
      help="Disable pseudo-TTY allocation (default: auto-detected)")
    a("-i", "--interactive", action="store_true", default=True, help=argparse.SUPPRESS)
    a("--build", action="store_true", help="Build image before starting container")
    a("--cap-add", action="append", default=[], help="Add Linux capabilities")
    a("--cap-drop", action="append", default=[], help="Drop Linux capabilities")
    a("--remove-orphans", action="store_true", help="Remove containers for services not defined in the Compose file")
    a("--quiet-pull", action="store_true", help="Pull without printing progress information")
    a("service", metavar="SERVICE")
    a("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def _terminal(stream: object) -> bool:
    try:
        return os.isatty(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def _ports(specs: list[str]) -> list[dict]:
    """-p specs as the model's long-syntax port entries."""
    from estiba.cli.container_options import parse_ports

    _, bindings = parse_ports(specs, [])
    return [
        {"mode": "ingress", "target": int(key.partition("/")[0]), "protocol": key.partition("/")[2],
         **({"published": b["HostPort"]} if b["HostPort"] else {}),
         **({"host_ip": b["HostIp"]} if b["HostIp"] else {})}
        for key, entries in bindings.items() for b in entries
    ]


def _volume(spec: str, working_dir: str) -> dict:
    """-v SOURCE:TARGET[:ro|rw]: a path (absolute, ./ or ~) is a bind, else a named volume."""
    parts = spec.split(":")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    if len(parts) > 3 or not parts[1]:
        raise UsageError(f"invalid volume {spec!r}: use SOURCE:TARGET[:ro]", "compose run")
    source, target = parts[0], parts[1]
    read_only = len(parts) == 3 and "ro" in parts[2].split(",")
    if source.startswith(("/", ".", "~")):
        path = os.path.abspath(os.path.join(working_dir, os.path.expanduser(source)))
        return {"type": "bind", "source": path, "target": target, "read_only": read_only,
                "bind": {"create_host_path": True}}
    return {"type": "volume", "source": source, "target": target, "read_only": read_only}


def one_off_service(service: dict, args: argparse.Namespace, working_dir: str, tty: bool) -> dict:
    """The service as `run` overrides it: command, entrypoint, env, labels, user, workdir,
    volumes, ports (the service's only with --service-ports), TTY and stdin."""
    service = copy.deepcopy(service)
    if args.command:
        service["command"] = list(args.command)
    if args.entrypoint is not None:
        service["entrypoint"] = shlex.split(args.entrypoint)
    environment = dict(service.get("environment") or {})
    for item in args.env:
        key, eq, value = item.partition("=")
        environment[key] = value if eq else os.environ.get(key)
    if environment:
        service["environment"] = environment
    if args.label:
        labels = dict(service.get("labels") or {})
        labels.update({k: v for k, _, v in (item.partition("=") for item in args.label)})
        service["labels"] = labels
    if args.user:
        service["user"] = args.user
    if args.workdir:
        service["working_dir"] = args.workdir
    if args.volume:
        service["volumes"] = list(service.get("volumes") or []) + [_volume(v, working_dir) for v in args.volume]
    if not args.service_ports:
        service.pop("ports", None)
    if args.publish:
        service["ports"] = _ports(args.publish)
    for key in ("cap_add", "cap_drop"):
        if getattr(args, key):
            service[key] = list(service.get(key) or []) + getattr(args, key)
    service["tty"] = tty
    service["stdin_open"] = bool(args.interactive)
    service.pop("container_name", None)
    service.pop("scale", None)
    return service


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.attaching import attach_container
    from estiba.compose import specs
    from estiba.compose.engine import ConvergeOptions, Engine, Progress, select_services
    from estiba.compose.engine import objects
    from estiba.compose.engine.waiting import wait_dependencies
    from estiba.compose.images import ensure_image

    project = ctx.project([args.service])
    if args.service not in project.services:
        from estiba.errors import NotFound

        raise NotFound(f"no such service: {args.service}")
    progress = Progress(ctx.stderr)
    client = ctx.client
    if not args.no_deps:
        deps = [s for s in select_services(project, [args.service]) if s != args.service]
        if deps:
            for name in deps:
                ensure_image(client, project, name, progress=progress, out=ctx.stderr)
            Engine(client, project, progress).up(deps, ConvergeOptions(remove_orphans=args.remove_orphans))
            wait_dependencies(client, project.name, project.services[args.service], progress)
    objects.ensure_networks(client, project, progress)
    objects.ensure_volumes(client, project, progress)
    image = ensure_image(client, project, args.service, build=True if args.build else None,
                         progress=progress, out=ctx.stderr)

    tty = not args.no_tty and _terminal(sys.stdin) and _terminal(sys.stdout)
    one_off = copy.copy(project)
    one_off.config = dict(project.config)
    one_off.config["services"] = dict(project.services)
    one_off.config["services"][args.service] = one_off_service(
        project.services[args.service], args, project.working_dir, tty)
    name, body = specs.container_body(one_off, args.service, 1, oneoff=True, name=args.name,
                                      client=client, use_aliases=args.use_aliases,
                                      image_id=image or None)
    attach = not args.detach
    body.update(AttachStdin=attach and args.interactive, AttachStdout=attach,
                AttachStderr=attach, StdinOnce=attach and args.interactive)
    body["HostConfig"]["AutoRemove"] = bool(args.rm)
    created = client.post("/containers/create", body, name=name)
    container_id = created["Id"]
    for network, endpoint in specs.extra_networks(one_off, args.service, use_aliases=args.use_aliases):
        client.post(f"/networks/{network}/connect", {"Container": container_id, "EndpointConfig": endpoint})
    if args.detach:
        client.post(f"/containers/{container_id}/start")
        ctx.out(name)
        return 0
    ctx.stdout.flush()
    code = attach_container(ctx, container_id, tty=tty, stdin=bool(args.interactive), start=True,
                            auto_remove=args.rm)
    return 0 if code is None else code
