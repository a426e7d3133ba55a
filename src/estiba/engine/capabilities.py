"""Which capabilities a container gets: Docker's default set, CapAdd/CapDrop, privileged.

Names are normalised as dockerd does ("net_admin", "CAP_NET_ADMIN" and "Net_Admin" are
one capability; "ALL" is every capability), and the result is dockerd's list in dockerd's
order, duplicates included (dockerd appends CapAdd to the default set without removing
what is already there; the kernel does not care).
"""

from __future__ import annotations

from collections.abc import Iterable

from estiba.errors import InvalidArgument
from estiba.runtime.capabilities import CAPABILITIES

ALL = "ALL"

# moby oci/caps/defaults.go: what `docker run` grants when nothing is asked for.
DEFAULT_CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)


def all_capabilities(last_cap: int | None = None) -> tuple[str, ...]:
    """Every capability up to the kernel's highest (`/proc/sys/kernel/cap_last_cap`), in
    number order. None means every capability the runtime knows."""
    if last_cap is None:
        return CAPABILITIES
    return CAPABILITIES[: last_cap + 1]


def normalize(names: Iterable[str], where: str, known: tuple[str, ...] = CAPABILITIES) -> tuple[str, ...]:
    """Upper-case, add the CAP_ prefix, keep "ALL"; an unknown name is InvalidArgument
    with dockerd's message, e.g. `invalid CapAdd: unknown capability: "CAP_FOO"`."""
    normalized = []
    for name in names:
        name = name.upper()
        if name == ALL:
            normalized.append(name)
            continue
        if not name.startswith("CAP_"):
            name = "CAP_" + name
        if name not in known:
            raise InvalidArgument(f'invalid {where}: unknown capability: "{name}"')
        normalized.append(name)
    return tuple(normalized)


def effective_capabilities(
    cap_add: Iterable[str],
    cap_drop: Iterable[str],
    *,
    privileged: bool,
    last_cap: int | None = None,
) -> list[str]:
    """dockerd's TweakCapabilities: the container's capability list.

    Privileged gets every capability; CapAdd ALL gets every capability but CapDrop's;
    CapDrop ALL gets only CapAdd's; otherwise the default set minus CapDrop plus CapAdd.
    """
    everything = all_capabilities(last_cap)
    if privileged:
        return list(everything)
    adds = normalize(cap_add, "CapAdd")
    drops = normalize(cap_drop, "CapDrop")
    if not adds and not drops:
        return list(DEFAULT_CAPABILITIES)
    if ALL in adds:
        return [cap for cap in everything if cap not in drops]
    if ALL in drops:
        return list(adds)
    return [cap for cap in DEFAULT_CAPABILITIES if cap not in drops] + list(adds)
