"""Linux capabilities: names to numbers, and the five sets applied in the kernel's order.

Applying is split in two because the user switch sits between the halves: the bounding
set is dropped while the process is still root, then the user changes (keeping permitted
capabilities through PR_SET_KEEPCAPS), then effective, permitted, inheritable and ambient
sets are installed.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

from estiba.runtime import syscalls as sc

CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
CAPABILITY_NUMBERS = {name: number for number, name in enumerate(CAPABILITIES)}


def last_cap() -> int:
    """The highest capability number this kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            return int(handle.read())
    except OSError:
        return len(CAPABILITIES) - 1


class CapabilityMasks(NamedTuple):
    bounding: int
    effective: int
    permitted: int
    inheritable: int
    ambient: tuple[int, ...]


def to_mask(names: tuple[str, ...] | list[str], top: int, unknown: list[str]) -> int:
    """Bit mask of the named capabilities; names unknown to us or the kernel go to `unknown`."""
    mask = 0
    for name in names:
        number = CAPABILITY_NUMBERS.get(name.upper())
        if number is None or number > top:
            if name not in unknown:
                unknown.append(name)
            continue
        mask |= 1 << number
    return mask


def masks(capabilities, top: int | None = None, warn=None) -> CapabilityMasks:
    """Resolve a spec's Capabilities; unknown names are ignored with a warning, as runc does."""
    top = last_cap() if top is None else top
    unknown: list[str] = []
    ambient = to_mask(capabilities.ambient, top, unknown)
    result = CapabilityMasks(
        bounding=to_mask(capabilities.bounding, top, unknown),
        effective=to_mask(capabilities.effective, top, unknown),
        permitted=to_mask(capabilities.permitted, top, unknown),
        inheritable=to_mask(capabilities.inheritable, top, unknown),
        ambient=tuple(n for n in range(top + 1) if ambient & (1 << n)),
    )
    if unknown:
        message = f"ignoring unknown or unavailable capabilities: {', '.join(unknown)}"
        (warn or (lambda text: print(f"estiba-runtime: warning: {text}", file=sys.stderr)))(message)
    return result


def drop_bounding(calls: sc.Syscalls, keep: int, top: int) -> None:
    """Drop every capability outside `keep` from the bounding set (needs CAP_SETPCAP)."""
    for number in range(top + 1):
        if not keep & (1 << number):
            calls.prctl(sc.PR_CAPBSET_DROP, number)


def apply_sets(calls: sc.Syscalls, wanted: CapabilityMasks) -> None:
    """Install effective/permitted/inheritable, then raise the ambient capabilities."""
    calls.capset(wanted.effective, wanted.permitted, wanted.inheritable)
    # Like runc, an ambient capability the kernel refuses (one not in both permitted and
    # inheritable, as in `runc spec`'s own default) is skipped, not a failure.
    calls.prctl(sc.PR_CAP_AMBIENT, sc.PR_CAP_AMBIENT_CLEAR_ALL)
    allowed = wanted.permitted & wanted.inheritable
    for number in wanted.ambient:
        if allowed & (1 << number):
            calls.prctl(sc.PR_CAP_AMBIENT, sc.PR_CAP_AMBIENT_RAISE, number)
