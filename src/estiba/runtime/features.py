"""`features`: what this runtime supports, in the OCI runtime features format."""

from __future__ import annotations

import os

from estiba.runtime.capabilities import CAPABILITIES, last_cap
from estiba.runtime.rootfs import _FLAG_OPTIONS, _PROPAGATION_OPTIONS
from estiba.runtime.spec import NAMESPACE_FLAGS


def features() -> dict:
    from estiba.runtime import seccomp

    top = last_cap()
    seccomp_section: dict = {"enabled": False}
    try:
        seccomp_section = {
            "enabled": True,
            "actions": seccomp.supported_actions(),
            "operators": seccomp.supported_operators(),
            "archs": seccomp.supported_archs(),
            "knownFlags": seccomp.known_flags(),
            "supportedFlags": seccomp.supported_flags(),
        }
    except Exception:  # noqa: BLE001 - no libseccomp: report seccomp as unavailable
        pass
    namespaces = [ns for ns in NAMESPACE_FLAGS if ns != "time" or os.path.exists("/proc/self/ns/time")]
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.0.2",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": sorted([*_FLAG_OPTIONS, *_PROPAGATION_OPTIONS, "tmpcopyup"]),
        "linux": {
            "namespaces": sorted(namespaces),
            "capabilities": list(CAPABILITIES[: top + 1]),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": seccomp_section,
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
        },
        "annotations": {"io.github.estiba.runtime.version": "0.1.0"},
    }
