"""A container's mounts, as dockerd resolves them at create (daemon/volumes.go
registerMountPoints), before anything exists: pure, so the rules are tested without root.

In dockerd's order of precedence for one destination: `--volumes-from` first, then the
image's and Config's VOLUMEs (anonymous), then `-v` (HostConfig.Binds), then `--mount`
(HostConfig.Mounts); a later one replaces an earlier one at the same place, and two
`-v`/`--mount` at the same place are refused. tmpfs mounts are not here: the spec
builder makes them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from estiba.errors import InvalidArgument

__all__ = ["MountRequest", "parse_bind", "plan_mounts"]

_PROPAGATIONS = ("shared", "slave", "private", "rshared", "rslave", "rprivate")
_BIND_MODES = ("ro", "rw", "z", "Z", "nocopy", *_PROPAGATIONS)


@dataclass(frozen=True)
class MountRequest:
    """One mount of a container. `kind` is "volume" (`source` its name, "" for a new
    anonymous one) or "bind" (`source` a host path)."""

    kind: str
    target: str
    source: str = ""
    read_only: bool = False
    propagation: str = ""
    no_copy: bool = False
    mode: str = ""  # the -v mode text, as inspect shows it
    create_source: bool = False  # -v makes a missing host directory; --mount refuses
    labels: Mapping[str, str] = field(default_factory=dict)
    driver_options: Mapping[str, str] = field(default_factory=dict)
    from_container: str = ""  # --volumes-from: the container whose mount this is
    non_recursive: bool = False  # --mount bind-nonrecursive: the mounts below are not bound

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"], data["driver_options"] = dict(self.labels), dict(self.driver_options)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MountRequest:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def _clean_target(target: str, where: str) -> str:
    if not target.startswith("/"):
        raise InvalidArgument(f"invalid mount config: {where}: mount path must be absolute")
    cleaned = posixpath.normpath(target)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if cleaned == "/":
        raise InvalidArgument(f"invalid specification: destination can't be '/' in '{where}'")
    return cleaned


def parse_bind(spec: str) -> MountRequest:
    """One HostConfig.Binds entry: `SOURCE:DEST[:MODE]`, SOURCE a host path (absolute) or
    a volume name; MODE a comma list of ro, rw, nocopy, z, Z and a propagation."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise InvalidArgument(f"invalid volume specification: '{spec}'")
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    modes = [m for m in mode.split(",") if m]
    for item in modes:
        if item not in _BIND_MODES:
            raise InvalidArgument(f"invalid mode: {mode}")
    if "ro" in modes and "rw" in modes:
        raise InvalidArgument(f"invalid mode: {mode}")
    propagations = [m for m in modes if m in _PROPAGATIONS]
    if len(propagations) > 1:
        raise InvalidArgument(f"invalid mode: {mode}")
    target = _clean_target(target, spec)
    bind = source.startswith("/")
    if bind and "nocopy" in modes:
        raise InvalidArgument(f"invalid mode: {mode}: nocopy is for volumes")
    if not bind and propagations:
        raise InvalidArgument(f"invalid mode: {mode}: propagation is for bind mounts")
    if not bind:
        from estiba.volumes.options import validate_volume_name

        validate_volume_name(source)
    return MountRequest(
        kind="bind" if bind else "volume",
        target=target,
        source=posixpath.normpath(source) if bind else source,
        read_only="ro" in modes,
        propagation=propagations[0] if propagations else "",
        no_copy="nocopy" in modes,
        mode=mode,
        create_source=bind,
    )


def parse_api_mount(mount: Any, index: int) -> MountRequest | None:
    """One HostConfig.Mounts entry (`estiba.engine.mountconfig.Mount`, validated); None
    for tmpfs, which the spec builder mounts itself."""
    where = f"HostConfig.Mounts[{index}]"
    if mount.type == "tmpfs":
        return None
    if mount.type == "npipe":
        raise InvalidArgument(f"{where}: npipe mounts are for Windows")
    target = _clean_target(mount.target, where)
    if mount.type == "bind":
        if not mount.source.startswith("/"):
            raise InvalidArgument(
                f'invalid mount config for type "bind": invalid mount path: \'{mount.source}\' '
                "mount path must be absolute"
            )
        return MountRequest(
            kind="bind", target=target, source=posixpath.normpath(mount.source),
            read_only=mount.read_only, propagation=mount.bind_propagation,
            non_recursive=mount.bind_non_recursive,
        )  # fmt: skip
    if mount.source:
        from estiba.volumes.options import validate_volume_name

        validate_volume_name(mount.source)
    if mount.volume_driver not in ("", "local"):
        raise InvalidArgument(f"volume driver {mount.volume_driver!r} is not available", hint="use local")
    return MountRequest(
        kind="volume", target=target, source=mount.source, read_only=mount.read_only,
        no_copy=mount.volume_no_copy, labels=dict(mount.volume_labels),
        driver_options=dict(mount.volume_driver_options),
    )  # fmt: skip


def parse_volumes_from(spec: str) -> tuple[str, str]:
    """`CONTAINER[:ro|rw]` -> (container, mode)."""
    container, _, mode = spec.partition(":")
    if not container or mode not in ("", "ro", "rw"):
        raise InvalidArgument(f"invalid mode: {mode}" if container else f"invalid volumes-from: '{spec}'")
    return container, mode


def plan_mounts(
    *,
    binds: Sequence[str],
    mounts: Sequence[Any],
    volumes: Sequence[str],
    inherited: Sequence[tuple[MountRequest, str]] = (),
) -> list[MountRequest]:
    """The container's mounts from its HostConfig (Binds, Mounts), its Config's and image's
    VOLUMEs (`volumes`) and the mounts of `--volumes-from` containers (`inherited`, each
    with the mode asked: "", "ro" or "rw"), sorted by target depth."""
    by_target: dict[str, MountRequest] = {}
    for request, mode in inherited:
        read_only = request.read_only if not mode else mode == "ro"
        by_target[request.target] = replace(request, read_only=read_only)
    for path in volumes:
        target = _clean_target(path, path)
        if target not in by_target:
            by_target[target] = MountRequest(kind="volume", target=target)
    explicit: set[str] = set()
    for spec in binds:
        request = parse_bind(spec)
        if request.target in explicit:
            raise InvalidArgument(f"Duplicate mount point: {request.target}")
        explicit.add(request.target)
        by_target[request.target] = request
    for index, mount in enumerate(mounts):
        request = parse_api_mount(mount, index)
        if request is None:
            continue
        if request.target in explicit:
            raise InvalidArgument(f"Duplicate mount point: {request.target}")
        explicit.add(request.target)
        by_target[request.target] = request
    return sorted(by_target.values(), key=lambda r: len(r.target.split("/")))


def oci_mount(request: MountRequest, source: str) -> dict[str, Any]:
    """The spec's mount for a resolved request (`source` the host path to bind)."""
    options = ["bind" if request.non_recursive else "rbind", request.propagation or "rprivate"]
    if request.read_only:
        options.append("ro")
    return {"destination": request.target, "type": "bind", "source": source, "options": options}


def mount_point(request: MountRequest, source: str, name: str = "") -> dict[str, Any]:
    """The MountPoint document of `docker inspect` (Mounts)."""
    document: dict[str, Any] = {"Type": request.kind}
    if request.kind == "volume":
        document.update(Name=name, Source=source, Destination=request.target, Driver="local",
                        Mode=request.mode or "z", RW=not request.read_only, Propagation="")
    else:
        document.update(Source=source, Destination=request.target, Mode=request.mode,
                        RW=not request.read_only, Propagation=request.propagation or "rprivate")
    return document
