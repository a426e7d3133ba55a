"""Cgroup resources: dockerd's checks of HostConfig's Resources and the OCI
`linux.resources` memory, cpu, pids and blockIO sections they become.

`validate` holds the checks that need nothing from the host (dockerd's messages, from
verifyPlatformContainerResources); `check_available` the ones that do (CPU count, cpusets),
given as plain values so that both stay pure. `render` is dockerd's getMemoryResources,
getCPUResources and getPidsLimit.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from estiba.engine._apifields import go_atoi
from estiba.errors import InvalidArgument

if TYPE_CHECKING:
    from estiba.engine.hostconfig import HostConfig

# Not a kernel limit: dockerd's floor, so that a container can at least start.
MIN_MEMORY = 6 * 1024 * 1024
# The CFS period dockerd uses to turn NanoCpus into a quota (100 ms, in microseconds).
NANO_CPUS_PERIOD = 100_000


def validate(host: HostConfig) -> None:
    """InvalidArgument for resource settings dockerd refuses whatever the host."""
    if host.memory != 0 and host.memory < MIN_MEMORY:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    if host.memory > 0 and host.memory_swap > 0 and host.memory_swap < host.memory:
        raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
    if host.memory == 0 and host.memory_swap > 0:
        raise InvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage")
    if host.memory_swappiness is not None and not 0 <= host.memory_swappiness <= 100:
        # -1 is the API's "not set" and dockerd turns it into null (fixMemorySwappiness).
        if host.memory_swappiness != -1:
            raise InvalidArgument(
                f"Invalid value: {host.memory_swappiness}, valid memory swappiness range is 0-100"
            )
    if host.memory_reservation != 0 and host.memory_reservation < MIN_MEMORY:
        raise InvalidArgument("Minimum memory reservation allowed is 6MB")
    if host.memory > 0 and host.memory_reservation > 0 and host.memory < host.memory_reservation:
        raise InvalidArgument("Minimum memory limit can not be less than memory reservation limit, see usage")
    if host.kernel_memory != 0 and host.kernel_memory < MIN_MEMORY:
        raise InvalidArgument("Minimum kernel memory limit allowed is 6MB")
    if host.nano_cpus > 0 and host.cpu_period > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if host.nano_cpus > 0 and host.cpu_quota > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    if host.nano_cpus < 0:
        raise InvalidArgument("HostConfig.NanoCpus: must not be negative")
    if host.cpu_shares < 0:
        raise InvalidArgument("HostConfig.CpuShares: must not be negative")
    if host.cpu_period != 0 and not 1000 <= host.cpu_period <= 1_000_000:
        raise InvalidArgument(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        )
    if 0 < host.cpu_quota < 1000:
        raise InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if host.cpu_realtime_period < 0 or host.cpu_realtime_runtime < -1:
        raise InvalidArgument("HostConfig.CpuRealtimePeriod/CpuRealtimeRuntime: must not be negative")
    if host.blkio_weight > 0 and not 10 <= host.blkio_weight <= 1000:
        raise InvalidArgument("Range of blkio weight is from 10 to 1000")
    parse_uint_list(host.cpuset_cpus, "cpus")
    parse_uint_list(host.cpuset_mems, "mems")
    for rule in host.device_cgroup_rules:
        device_cgroup_rule(rule)


def check_available(
    host: HostConfig, *, cpu_count: int, cpus: Collection[int], mems: Collection[int]
) -> None:
    """The checks that depend on the machine: how many CPUs, which CPUs and memory nodes."""
    if host.nano_cpus > cpu_count * 1_000_000_000:
        raise InvalidArgument(
            f"Range of CPUs is from 0.01 to {cpu_count}.00, as there are only {cpu_count} CPUs available"
        )
    for value, available, kind in ((host.cpuset_cpus, cpus, "cpus"), (host.cpuset_mems, mems, "mems")):
        allowed = set(available)
        top = max(allowed, default=-1)
        for low, high in parse_uint_list(value, kind):
            # high <= top keeps the range small whatever number was asked for.
            if high > top or any(n not in allowed for n in range(low, high + 1)):
                what = "CPUs" if kind == "cpus" else "memory nodes"
                raise InvalidArgument(
                    f"Requested {what} are not available - requested {value}, "
                    f"available: {format_uint_list(allowed)}"
                )


def render(host: HostConfig) -> dict[str, Any]:
    """`linux.resources` without devices: memory, cpu, pids (when limited) and blockIO,
    in dockerd's key order and with dockerd's zero values."""
    memory: dict[str, Any] = {}
    if host.memory > 0:
        memory["limit"] = host.memory
    if host.memory_reservation > 0:
        memory["reservation"] = host.memory_reservation
    if host.memory_swap > 0:
        memory["swap"] = host.memory_swap
    if host.kernel_memory != 0:
        memory["kernel"] = host.kernel_memory
    if host.kernel_memory_tcp != 0:
        memory["kernelTCP"] = host.kernel_memory_tcp
    if host.memory_swappiness is not None and host.memory_swappiness >= 0:
        memory["swappiness"] = host.memory_swappiness
    if host.oom_kill_disable is not None:
        memory["disableOOMKiller"] = host.oom_kill_disable

    cpu: dict[str, Any] = {"shares": host.cpu_shares}
    quota, period = host.cpu_quota, host.cpu_period
    if host.nano_cpus > 0:
        quota = quota or host.nano_cpus * NANO_CPUS_PERIOD // 1_000_000_000
        period = period or NANO_CPUS_PERIOD
    if quota:
        cpu["quota"] = quota
    if period:
        cpu["period"] = period
    if host.cpu_realtime_runtime:
        cpu["realtimeRuntime"] = host.cpu_realtime_runtime
    if host.cpu_realtime_period:
        cpu["realtimePeriod"] = host.cpu_realtime_period
    if host.cpuset_cpus:
        cpu["cpus"] = host.cpuset_cpus
    if host.cpuset_mems:
        cpu["mems"] = host.cpuset_mems

    rendered: dict[str, Any] = {"memory": memory, "cpu": cpu}
    if host.pids_limit is not None and host.pids_limit > 0:
        rendered["pids"] = {"limit": host.pids_limit}
    rendered["blockIO"] = {"weight": host.blkio_weight}
    return rendered


def parse_uint_list(value: str, kind: str) -> list[tuple[int, int]]:
    """A cpuset list ("0-2,4") as (low, high) ranges; dockerd's message when malformed."""
    if value == "":
        return []
    ranges = []
    for part in value.split(","):
        low_text, dash, high_text = part.partition("-")
        low, high = go_atoi(low_text), go_atoi(high_text) if dash else go_atoi(low_text)
        if low is None or high is None or high < low or low < 0:
            raise InvalidArgument(f"Invalid value {value} for cpuset {kind}: invalid format: {value}")
        ranges.append((low, high))
    return ranges


def format_uint_list(numbers: Collection[int]) -> str:
    """{0, 1, 2, 5} -> "0-2,5"."""
    parts: list[str] = []
    ordered = sorted(numbers)
    start = previous = None
    for number in [*ordered, None]:
        if number is not None and previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = number
    return ",".join(parts)


def device_cgroup_rule(rule: str) -> dict[str, Any]:
    """`c 1:3 mr` or `a *:* rwm` as an OCI device cgroup entry; "*" is -1 (any)."""
    fields = rule.split(" ")
    if len(fields) == 3 and fields[0] in ("a", "b", "c"):
        major_text, colon, minor_text = fields[1].partition(":")
        numbers = [-1 if text == "*" else (int(text) if text.isascii() and text.isdigit() else None)
                   for text in (major_text, minor_text)]
        access = fields[2]
        if colon and None not in numbers and 1 <= len(access) <= 3 and not set(access) - set("rwm"):
            major, minor = numbers
            return {"allow": True, "type": fields[0], "major": major, "minor": minor, "access": access}
    raise InvalidArgument(f"invalid device cgroup rule format: '{rule}'")
