"""The container definition of the Docker Engine API v1.41, as typed, validated data.

`ContainerConfig.from_api(body)` reads the body of `POST /containers/create` (the
ContainerConfig definition plus the `HostConfig` inside it, see `estiba.engine.hostconfig`);
`ImageConfig.from_oci` reads the `config` object of an image. `ContainerConfig.merged_with`
is dockerd's create-time merge of the two, so what the engine stores (and `inspect`
shows) is what dockerd would store.

Checks are dockerd's create-time ones (daemon/container.go validateContainerConfig), with
dockerd's messages; anything dockerd would only reject at start is checked there too, so
that a bad body fails at create. Nothing here reads the host.
"""

from __future__ import annotations

import signal as _signal
from dataclasses import dataclass, field, replace
from typing import Any

from estiba.engine._apifields import Fields, go_atoi
from estiba.engine.hostconfig import HostConfig
from estiba.errors import InvalidArgument

__all__ = ["ContainerConfig", "HealthConfig", "HostConfig", "ImageConfig", "parse_signal"]

# sethostname(2) refuses longer names (HOST_NAME_MAX).
_HOST_NAME_MAX = 64


@dataclass(frozen=True)
class HealthConfig:
    """A health check: Test is ["NONE"], ["CMD", args...] or ["CMD-SHELL", command].

    Durations are nanoseconds; 0 means the default (inherited from the image)."""

    test: tuple[str, ...] = ()
    interval: int = 0
    timeout: int = 0
    retries: int = 0
    start_period: int = 0
    start_interval: int = 0

    @classmethod
    def from_api(cls, fields: Fields) -> HealthConfig | None:
        if not fields.raw:
            return None
        health = cls(
            test=fields.strings("Test"),
            interval=fields.integer("Interval"),
            timeout=fields.integer("Timeout"),
            retries=fields.integer("Retries"),
            start_period=fields.integer("StartPeriod"),
            start_interval=fields.integer("StartInterval"),
        )
        # dockerd's validateHealthCheck, with its messages (the minimum is 1ms).
        for name in ("Interval", "Timeout", "StartPeriod", "StartInterval"):
            value = fields.integer(name)
            if value != 0 and value < 1_000_000:
                raise InvalidArgument(f"{name} in Healthcheck cannot be less than 1ms")
        if health.retries < 0:
            raise InvalidArgument("Retries in Healthcheck cannot be negative")
        return health

    def to_api(self) -> dict[str, Any]:
        """The Healthcheck object as dockerd writes it (zero fields omitted)."""
        document: dict[str, Any] = {"Test": list(self.test)} if self.test else {}
        for key, value in (("Interval", self.interval), ("Timeout", self.timeout),
                           ("StartPeriod", self.start_period), ("StartInterval", self.start_interval),
                           ("Retries", self.retries)):
            if value:
                document[key] = value
        return document


@dataclass(frozen=True)
class ImageConfig:
    """What an image contributes to its containers (the image config's `config` object)."""

    user: str = ""
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    working_dir: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    healthcheck: HealthConfig | None = None

    @classmethod
    def from_oci(cls, config: dict[str, Any] | None, where: str = "image config") -> ImageConfig:
        """Read the `config` object of an OCI or Docker image configuration."""
        f = Fields(config, where)
        return cls(
            user=f.string("User"),
            env=f.strings("Env"),
            entrypoint=f.strslice("Entrypoint"),
            cmd=f.strslice("Cmd"),
            working_dir=f.string("WorkingDir"),
            labels=f.string_map("Labels"),
            stop_signal=f.string("StopSignal"),
            exposed_ports=f.key_set("ExposedPorts"),
            volumes=f.key_set("Volumes"),
            healthcheck=HealthConfig.from_api(f.child("Healthcheck")),
        )


@dataclass(frozen=True)
class ContainerConfig:
    """The ContainerConfig of a create request, with its HostConfig.

    `entrypoint` and `cmd` are None when not given, which differs from given-but-empty:
    an empty Entrypoint still stops the image's one from being inherited."""

    image: str = ""
    hostname: str = ""
    domainname: str = ""
    user: str = ""
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    env: tuple[str, ...] = ()
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    working_dir: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    stop_timeout: int | None = None
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    network_disabled: bool = False
    mac_address: str = ""
    healthcheck: HealthConfig | None = None
    host_config: HostConfig = field(default_factory=HostConfig)

    @classmethod
    def from_api(cls, body: Any) -> ContainerConfig:
        """Read and check a `POST /containers/create` body; InvalidArgument names the field."""
        f = Fields(body, "Config")
        config = cls(
            image=f.string("Image"),
            hostname=f.string("Hostname"),
            domainname=f.string("Domainname"),
            user=f.string("User"),
            attach_stdin=f.boolean("AttachStdin"),
            attach_stdout=f.boolean("AttachStdout"),
            attach_stderr=f.boolean("AttachStderr"),
            tty=f.boolean("Tty"),
            open_stdin=f.boolean("OpenStdin"),
            stdin_once=f.boolean("StdinOnce"),
            env=f.strings("Env"),
            cmd=f.strslice("Cmd"),
            entrypoint=f.strslice("Entrypoint"),
            working_dir=f.string("WorkingDir"),
            labels=f.string_map("Labels"),
            stop_signal=f.string("StopSignal"),
            stop_timeout=f.optional_int("StopTimeout"),
            exposed_ports=f.key_set("ExposedPorts"),
            volumes=f.key_set("Volumes"),
            network_disabled=f.boolean("NetworkDisabled"),
            mac_address=f.string("MacAddress"),
            healthcheck=HealthConfig.from_api(f.child("Healthcheck")),
            host_config=HostConfig.from_api(f.get("HostConfig")),
        )
        config.validate()
        return config

    def validate(self) -> None:
        """dockerd's validateContainerConfig, with its messages."""
        if self.working_dir and not self.working_dir.startswith("/"):
            raise InvalidArgument(
                f"the working directory '{self.working_dir}' is invalid, it needs to be an absolute path"
            )
        if self.stop_signal:
            parse_signal(self.stop_signal)
        for entry in self.env:
            if entry.split("=", 1)[0] == "":
                raise InvalidArgument(f"invalid environment variable: {entry}")
        if len(self.hostname.encode()) > _HOST_NAME_MAX:
            raise InvalidArgument(f"Config.Hostname: longer than {_HOST_NAME_MAX} bytes")
        if self.stop_timeout is not None and self.stop_timeout < -1:
            raise InvalidArgument("Config.StopTimeout: must be -1 (wait forever) or more")

    def merged_with(self, image: ImageConfig) -> ContainerConfig:
        """dockerd's create-time merge (daemon/create.go merge + mergeAndVerifyConfig).

        The container's own values win; Env gains the image's variables it does not set;
        the image's Cmd is inherited only when neither Entrypoint nor Cmd is given, its
        Entrypoint only when Entrypoint is not given at all. An Entrypoint of [""] means
        "no entrypoint" and ends up empty. Merging twice changes nothing.
        """
        if self.env:
            own_keys = {entry.split("=", 1)[0] for entry in self.env}
            env = self.env + tuple(e for e in image.env if e.split("=", 1)[0] not in own_keys)
        else:
            env = image.env

        cmd, entrypoint = self.cmd, self.entrypoint
        if not entrypoint:
            if not cmd:
                cmd = image.cmd
            if entrypoint is None:
                entrypoint = image.entrypoint
        if entrypoint == ("",):
            entrypoint = ()
        if not entrypoint and not cmd:
            raise InvalidArgument("No command specified")

        exposed = self.exposed_ports + tuple(p for p in image.exposed_ports if p not in self.exposed_ports)
        volumes = self.volumes + tuple(v for v in image.volumes if v not in self.volumes)
        return replace(
            self,
            user=self.user or image.user,
            env=env,
            cmd=cmd,
            entrypoint=entrypoint,
            working_dir=self.working_dir or image.working_dir,
            labels={**image.labels, **self.labels},
            stop_signal=self.stop_signal or image.stop_signal,
            exposed_ports=exposed,
            volumes=volumes,
            healthcheck=_merge_health(self.healthcheck, image.healthcheck),
        )

    def process_args(self) -> list[str]:
        """Entrypoint then Cmd: the argv dockerd gives the container's process."""
        args = [*(self.entrypoint or ()), *(self.cmd or ())]
        if not args:
            raise InvalidArgument("No command specified")
        return args


def _merge_health(own: HealthConfig | None, image: HealthConfig | None) -> HealthConfig | None:
    if image is None:
        return own
    if own is None:
        return image
    # A container's zero values fall back to the image's, field by field, as in dockerd.
    return HealthConfig(
        test=own.test or image.test,
        interval=own.interval or image.interval,
        timeout=own.timeout or image.timeout,
        retries=own.retries or image.retries,
        start_period=own.start_period or image.start_period,
        start_interval=own.start_interval or image.start_interval,
    )


# Names as dockerd's pkg/signal knows them on Linux, without the SIG prefix.
_RTMIN, _RTMAX = 34, 64
_SIGNALS = {s.name.removeprefix("SIG"): int(s) for s in _signal.Signals if not s.name.startswith("SIGRT")}
_SIGNALS.update({"RTMIN": _RTMIN, "RTMAX": _RTMAX, "IOT": 6, "CLD": 17, "POLL": 29})
_SIGNALS.update({f"RTMIN+{n}": _RTMIN + n for n in range(1, 16)})
_SIGNALS.update({f"RTMAX-{n}": _RTMAX - n for n in range(1, 15)})


def parse_signal(raw: str) -> int:
    """A signal number from "SIGTERM", "term", "15" or "RTMIN+3"; InvalidArgument otherwise."""
    number = go_atoi(raw)
    if number is not None:
        if 1 <= number <= _RTMAX:
            return number
        raise InvalidArgument(f"Invalid signal: {raw}")
    name = raw.upper().removeprefix("SIG")
    if name not in _SIGNALS:
        raise InvalidArgument(f"Invalid signal: {raw}")
    return _SIGNALS[name]
