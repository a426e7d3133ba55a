"""HostConfig.SecurityOpt as dockerd reads it: no-new-privileges, seccomp, apparmor, label.

`seccomp=unconfined` turns seccomp off; `seccomp=<JSON>` is a profile in Docker's format
(the docker CLI reads the file and sends its content); no seccomp option means Docker's
default profile. AppArmor and SELinux labels are accepted and have no effect: estiba runs
without either, as dockerd does on a host without them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from estiba.errors import InvalidArgument

UNCONFINED = "unconfined"
# Docker 23's name for the default profile; 20.10 has no name for it.
BUILTIN = "builtin"

_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


@dataclass(frozen=True)
class SecurityOptions:
    no_new_privileges: bool = False
    seccomp: str = ""  # "", "unconfined", "builtin" or a JSON profile
    apparmor: str = ""
    labels: tuple[str, ...] = ()

    @classmethod
    def parse(cls, options: tuple[str, ...] | list[str]) -> SecurityOptions:
        """dockerd's parseSecurityOpt, with its messages; a seccomp profile must be JSON."""
        no_new_privileges, seccomp, apparmor, labels = False, "", "", []
        for option in options:
            if option == "no-new-privileges":
                no_new_privileges = True
                continue
            if option == "disable":
                labels.append("disable")
                continue
            # "key=value"; dockerd still takes the "key:value" of Docker 1.12.
            separator = "=" if "=" in option else ":"
            key, found, value = option.partition(separator)
            if not found:
                raise InvalidArgument(f"invalid --security-opt 1: {json.dumps(option)}")
            if key == "label":
                labels.append(value)
            elif key == "apparmor":
                apparmor = value
            elif key == "seccomp":
                seccomp = value
            elif key == "no-new-privileges" and value in _TRUE + _FALSE:
                no_new_privileges = value in _TRUE
            else:
                raise InvalidArgument(f"invalid --security-opt 2: {json.dumps(option)}")
        if seccomp not in ("", UNCONFINED, BUILTIN):
            seccomp_profile(seccomp)
        return cls(no_new_privileges, seccomp, apparmor, tuple(labels))

    @property
    def seccomp_unconfined(self) -> bool:
        return self.seccomp == UNCONFINED

    def custom_seccomp_profile(self) -> dict[str, Any] | None:
        """The profile given as JSON, or None for the default (or unconfined)."""
        if self.seccomp in ("", UNCONFINED, BUILTIN):
            return None
        return seccomp_profile(self.seccomp)


def seccomp_profile(text: str) -> dict[str, Any]:
    try:
        profile = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"Decoding seccomp profile failed: {exc}") from None
    if not isinstance(profile, dict):
        raise InvalidArgument("Decoding seccomp profile failed: the profile must be a JSON object")
    return profile
