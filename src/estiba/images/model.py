"""The image model: typed OCI image configs, manifests and indexes, parsed and serialised.

Configs and manifests arrive as JSON from registries, archives and builds and become these
frozen dataclasses at once. Serialising gives canonical JSON (sorted keys, no spaces), so
the same config always has the same digest. Keys we do not model are kept in `extra`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from estiba.content import Descriptor, Platform
from estiba.errors import InvalidArgument
from estiba.images import mediatypes as mt
from estiba.images._json import (
    as_object,
    canonical_json,
    int_field,
    load_json,
    set_keys_field,
    str_field,
    strings_field,
)
from estiba.images.manifest import Index, Manifest, host_platform, parse_manifest


@dataclass(frozen=True)
class Healthcheck:
    """Docker's HEALTHCHECK: the test command and its timing (durations in nanoseconds)."""

    test: tuple[str, ...] = ()
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0

    _KEYS = (
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("start_period", "StartPeriod"),
        ("start_interval", "StartInterval"),
        ("retries", "Retries"),
    )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Test": list(self.test)}
        for attr, key in self._KEYS:
            if getattr(self, attr):
                out[key] = getattr(self, attr)
        return out

    @classmethod
    def from_json(cls, data: Any) -> Healthcheck:
        data = as_object(data, "Healthcheck")
        values = {attr: int_field(data, key, "Healthcheck") for attr, key in cls._KEYS}
        return cls(test=strings_field(data, "Test", "Healthcheck") or (), **values)


# (attribute, JSON key) of the container config fields we model, in Docker's order.
_CONTAINER_KEYS = (
    "User",
    "ExposedPorts",
    "Env",
    "Entrypoint",
    "Cmd",
    "Volumes",
    "WorkingDir",
    "Labels",
    "StopSignal",
    "Healthcheck",
    "ArgsEscaped",
    "OnBuild",
    "Shell",
)


@dataclass(frozen=True)
class ContainerConfig:
    """The `config` of an image config: how containers made from the image run by default.

    `entrypoint`, `cmd` and `shell` are None when unset, which is not the same as empty.
    """

    user: str = ""
    exposed_ports: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    volumes: tuple[str, ...] = ()
    working_dir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    healthcheck: Healthcheck | None = None
    args_escaped: bool = False
    on_build: tuple[str, ...] = ()
    shell: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def env_dict(self) -> dict[str, str]:
        """Env as a mapping; later entries win, as in a shell."""
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in self.env)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        if self.user:
            out["User"] = self.user
        if self.exposed_ports:
            out["ExposedPorts"] = {port: {} for port in self.exposed_ports}
        if self.env:
            out["Env"] = list(self.env)
        if self.entrypoint is not None:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            out["Cmd"] = list(self.cmd)
        if self.volumes:
            out["Volumes"] = {volume: {} for volume in self.volumes}
        if self.working_dir:
            out["WorkingDir"] = self.working_dir
        if self.labels:
            out["Labels"] = dict(self.labels)
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        if self.healthcheck is not None:
            out["Healthcheck"] = self.healthcheck.to_json()
        if self.args_escaped:
            out["ArgsEscaped"] = True
        if self.on_build:
            out["OnBuild"] = list(self.on_build)
        if self.shell is not None:
            out["Shell"] = list(self.shell)
        return out

    @classmethod
    def from_json(cls, data: Any) -> ContainerConfig:
        if data is None:
            return cls()
        data = as_object(data, "image config: config")
        where = "image config: config"
        healthcheck = data.get("Healthcheck")
        labels = data.get("Labels") or {}
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise InvalidArgument(f"invalid {where}: Labels must map strings to strings")
        args_escaped = data.get("ArgsEscaped") or False
        if not isinstance(args_escaped, bool):
            raise InvalidArgument(f"invalid {where}: ArgsEscaped must be a boolean")
        return cls(
            user=str_field(data, "User", where),
            exposed_ports=set_keys_field(data, "ExposedPorts", where),
            env=strings_field(data, "Env", where) or (),
            entrypoint=strings_field(data, "Entrypoint", where),
            cmd=strings_field(data, "Cmd", where),
            volumes=set_keys_field(data, "Volumes", where),
            working_dir=str_field(data, "WorkingDir", where),
            labels=labels,
            stop_signal=str_field(data, "StopSignal", where),
            healthcheck=Healthcheck.from_json(healthcheck) if healthcheck is not None else None,
            args_escaped=args_escaped,
            on_build=strings_field(data, "OnBuild", where) or (),
            shell=strings_field(data, "Shell", where),
            extra={k: v for k, v in data.items() if k not in _CONTAINER_KEYS},
        )


@dataclass(frozen=True)
class History:
    """One step of how the image was made; `empty_layer` steps added no layer."""

    created: str | None = None
    created_by: str = ""
    author: str = ""
    comment: str = ""
    empty_layer: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.created:
            out["created"] = self.created
        for key, value in (
            ("created_by", self.created_by),
            ("author", self.author),
            ("comment", self.comment),
        ):
            if value:
                out[key] = value
        if self.empty_layer:
            out["empty_layer"] = True
        return out

    @classmethod
    def from_json(cls, data: Any) -> History:
        data = as_object(data, "image config: history entry")
        where = "image config: history"
        return cls(
            created=str_field(data, "created", where) or None,
            created_by=str_field(data, "created_by", where),
            author=str_field(data, "author", where),
            comment=str_field(data, "comment", where),
            empty_layer=bool(data.get("empty_layer", False)),
        )


_IMAGE_KEYS = (
    "created",
    "author",
    "architecture",
    "os",
    "variant",
    "os.version",
    "os.features",
    "config",
    "rootfs",
    "history",
)


@dataclass(frozen=True)
class ImageConfig:
    """An OCI image config (Docker's image JSON): platform, run defaults, layers, history."""

    architecture: str
    os: str
    config: ContainerConfig = field(default_factory=ContainerConfig)
    diff_ids: tuple[str, ...] = ()
    history: tuple[History, ...] = ()
    created: str | None = None
    author: str = ""
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def platform(self) -> Platform:
        return Platform(self.os, self.architecture, self.variant, self.os_version, self.os_features)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out["architecture"] = self.architecture
        out["os"] = self.os
        if self.variant:
            out["variant"] = self.variant
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.created:
            out["created"] = self.created
        if self.author:
            out["author"] = self.author
        out["config"] = self.config.to_json()
        out["rootfs"] = {"type": "layers", "diff_ids": list(self.diff_ids)}
        if self.history:
            out["history"] = [entry.to_json() for entry in self.history]
        return out

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> ImageConfig:
        return cls.from_json(load_json(data, "image config"))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageConfig:
        where = "image config"
        rootfs = as_object(data.get("rootfs"), "image config: rootfs")
        if rootfs.get("type") != "layers":
            raise InvalidArgument(f"invalid {where}: rootfs.type must be 'layers'")
        diff_ids = strings_field(rootfs, "diff_ids", where) or ()
        for diff_id in diff_ids:
            Descriptor(mt.OCI_LAYER, diff_id, 0)  # validates the digest
        history = data.get("history")
        history = [] if history is None else history
        if not isinstance(history, list):
            raise InvalidArgument(f"invalid {where}: history must be an array")
        architecture, os_name = data.get("architecture"), data.get("os")
        if not isinstance(architecture, str) or not isinstance(os_name, str):
            raise InvalidArgument(f"invalid {where}: architecture and os must be strings")
        return cls(
            architecture=architecture,
            os=os_name,
            config=ContainerConfig.from_json(data.get("config")),
            diff_ids=diff_ids,
            history=tuple(History.from_json(entry) for entry in history),
            created=str_field(data, "created", where) or None,
            author=str_field(data, "author", where),
            variant=str_field(data, "variant", where) or None,
            os_version=str_field(data, "os.version", where) or None,
            os_features=strings_field(data, "os.features", where) or (),
            extra={k: v for k, v in data.items() if k not in _IMAGE_KEYS},
        )


__all__ = [
    "ContainerConfig",
    "Healthcheck",
    "History",
    "ImageConfig",
    "Index",
    "Manifest",
    "canonical_json",
    "host_platform",
    "load_json",
    "parse_manifest",
]

# Every key of a container config (image `container_config`, inspect's `Config`) with
# dockerd's empty values: what Docker writes where an image has no such config.
EMPTY_CONTAINER_CONFIG: dict[str, Any] = {
    "Hostname": "",
    "Domainname": "",
    "User": "",
    "AttachStdin": False,
    "AttachStdout": False,
    "AttachStderr": False,
    "Tty": False,
    "OpenStdin": False,
    "StdinOnce": False,
    "Env": None,
    "Cmd": None,
    "Image": "",
    "Volumes": None,
    "WorkingDir": "",
    "Entrypoint": None,
    "OnBuild": None,
    "Labels": None,
}
