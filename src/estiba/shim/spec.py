"""`ShimSpec`: what one shim is asked to run, as typed data that travels as JSON.

The spawner writes it to `<state_dir>/shim.json`; the shim reads it back from there, so a
shim started by a fork server and one started as a new interpreter read the same thing,
and a restarted daemon can see what each running shim was told.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from estiba.errors import InvalidArgument, NotFound

IN_PROCESS_RUNTIME = "estiba"
DEFAULT_LOG_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_LOG_MAX_FILES = 3
SPEC_FILE = "shim.json"

_VALID_ID = re.compile(r"^[\w+.-]+$")


@dataclass(frozen=True)
class ShimSpec:
    """One container for one shim.

    `runtime` is "estiba" (the estiba.runtime library, called in the shim's own process)
    or the path of an OCI runtime binary with runc's command line.
    """

    container_id: str
    bundle: str
    state_dir: str
    runtime: str = IN_PROCESS_RUNTIME
    runtime_root: str = "/run/estiba-runtime"
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    log_path: str = ""
    log_max_size: int = DEFAULT_LOG_MAX_SIZE
    log_max_files: int = DEFAULT_LOG_MAX_FILES

    def __post_init__(self) -> None:
        if not self.container_id or self.container_id in (".", "..") or not _VALID_ID.match(self.container_id):
            raise InvalidArgument(f"shim spec: invalid container id {self.container_id!r}")
        for name in ("bundle", "state_dir", "runtime_root"):
            if not os.path.isabs(getattr(self, name)):
                raise InvalidArgument(f"shim spec: {name} must be an absolute path, not {getattr(self, name)!r}")
        if self.log_path and not os.path.isabs(self.log_path):
            raise InvalidArgument(f"shim spec: log_path must be an absolute path, not {self.log_path!r}")
        if self.runtime != IN_PROCESS_RUNTIME and not os.path.isabs(self.runtime):
            raise InvalidArgument(
                f"shim spec: runtime {self.runtime!r}",
                hint=f'use "{IN_PROCESS_RUNTIME}" or the absolute path of an OCI runtime binary',
            )
        if self.log_max_size < 0 or self.log_max_files < 1:
            raise InvalidArgument("shim spec: log_max_size must be >= 0 and log_max_files >= 1")

    @property
    def in_process(self) -> bool:
        return self.runtime == IN_PROCESS_RUNTIME

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> "ShimSpec":
        if not isinstance(data, dict):
            raise InvalidArgument("shim spec: expected a JSON object")
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InvalidArgument(f"shim spec: unknown fields {', '.join(unknown)}")
        for name, value in data.items():
            expected = {"str": str, "bool": bool, "int": int}[known[name]]
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise InvalidArgument(f"shim spec: {name} must be a {expected.__name__}")
        try:
            return cls(**data)
        except TypeError as exc:  # a required field is missing
            raise InvalidArgument(f"shim spec: {exc}") from exc

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def loads(cls, text: str | bytes) -> "ShimSpec":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidArgument(f"shim spec: invalid JSON: {exc}") from exc
        return cls.from_json(data)

    @classmethod
    def read(cls, state_dir: str) -> "ShimSpec":
        path = os.path.join(state_dir, SPEC_FILE)
        try:
            with open(path, "rb") as handle:
                return cls.loads(handle.read())
        except FileNotFoundError as exc:
            raise NotFound(f"no shim spec in {state_dir}") from exc
