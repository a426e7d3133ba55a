"""What a container create turns into shim settings: the runtime binary, log limits, and
the Config document stored for inspect."""

from __future__ import annotations

import os
import shutil
from typing import Any

from estiba.api.types import JSONObject
from estiba.engine.config import ContainerConfig
from estiba.errors import InvalidArgument
from estiba.units import parse_bytes


def runtime_path(runtime: str) -> str:
    if runtime == "estiba" or os.path.isabs(runtime):
        return runtime
    found = shutil.which(runtime)
    if found is None:
        raise InvalidArgument(f"runtime {runtime!r} not found", hint="install it or give its absolute path")
    return found


def log_limits(log_config: Any) -> dict[str, int]:
    options = dict(getattr(log_config, "config", None) or {})
    limits = {}
    if "max-size" in options:
        limits["log_max_size"] = parse_bytes(options["max-size"])
    if "max-file" in options:
        limits["log_max_files"] = int(options["max-file"])
    return limits


def stored_config(body: JSONObject, merged: ContainerConfig) -> dict[str, Any]:
    """The create body as sent (Config part), with dockerd's image merge applied: what
    inspect shows, and what `ContainerConfig.from_api` reads back (the merge is idempotent)."""
    stored = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
    stored.update(
        Image=merged.image,
        User=merged.user,
        Env=list(merged.env),
        Cmd=None if merged.cmd is None else list(merged.cmd),
        Entrypoint=None if merged.entrypoint is None else list(merged.entrypoint),
        WorkingDir=merged.working_dir,
        Labels=dict(merged.labels),
    )
    if merged.stop_signal:
        stored["StopSignal"] = merged.stop_signal
    if merged.exposed_ports:
        stored["ExposedPorts"] = {p: {} for p in merged.exposed_ports}
    if merged.volumes:
        stored["Volumes"] = {v: {} for v in merged.volumes}
    if merged.healthcheck is not None:  # the image's HEALTHCHECK under the container's own
        stored["Healthcheck"] = merged.healthcheck.to_api()
    return stored
