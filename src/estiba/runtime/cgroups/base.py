"""The cgroup contract: the `CgroupManager` protocol and the typed OCI `linux.resources`.

`Resources.from_spec` turns the JSON section into immutable NamedTuples once, at the edge
(NamedTuples, not dataclasses: they cost a tenth as much to define, and this is on every
create's start-up path); managers only ever see these types. Following runc, a zero in the integer fields that Go
keeps as plain numbers (memory limits, cpu shares/quota/period, realtime, pids, blkio weight)
means "not set", so it reads as None here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, runtime_checkable

from estiba.errors import InvalidArgument

INT64 = (-(2**63), 2**63 - 1)
UINT64 = (0, 2**64 - 1)
UINT32 = (0, 2**32 - 1)
UINT16 = (0, 2**16 - 1)
# BPF compares majors and minors as sign-extended 32-bit immediates.
DEVICE_NUMBER = (0, 2**31 - 1)


class MemoryResources(NamedTuple):
    """Bytes; -1 is unlimited. `swap` is memory+swap, as on cgroup v1 (OCI's meaning)."""

    limit: int | None = None
    reservation: int | None = None
    swap: int | None = None
    kernel: int | None = None  # deprecated by OCI and ignored by the kernel; never written
    kernel_tcp: int | None = None
    swappiness: int | None = None
    disable_oom_killer: bool = False
    use_hierarchy: bool | None = None
    check_before_update: bool = False


class CpuResources(NamedTuple):
    """Microseconds for quota/period/burst/realtime; shares are v1 weights (2..262144)."""

    shares: int | None = None
    quota: int | None = None
    period: int | None = None
    burst: int | None = None
    realtime_runtime: int | None = None
    realtime_period: int | None = None
    cpus: str | None = None
    mems: str | None = None
    idle: int | None = None


class DeviceWeight(NamedTuple):
    major: int
    minor: int
    weight: int | None = None
    leaf_weight: int | None = None


class DeviceThrottle(NamedTuple):
    major: int
    minor: int
    rate: int


class BlockIOResources(NamedTuple):
    weight: int | None = None
    leaf_weight: int | None = None
    weight_device: tuple[DeviceWeight, ...] = ()
    throttle_read_bps: tuple[DeviceThrottle, ...] = ()
    throttle_write_bps: tuple[DeviceThrottle, ...] = ()
    throttle_read_iops: tuple[DeviceThrottle, ...] = ()
    throttle_write_iops: tuple[DeviceThrottle, ...] = ()

    def any_set(self) -> bool:
        return self != BlockIOResources()


class DeviceRule(NamedTuple):
    """One device cgroup rule; None for major/minor is the wildcard "*"."""

    allow: bool
    type: str = "a"  # a (all), c (char), b (block)
    major: int | None = None
    minor: int | None = None
    access: str = "rwm"

    def v1_line(self) -> str:
        """The rule as devices.allow / devices.deny take it: "c 1:3 rwm"."""
        major = "*" if self.major is None else str(self.major)
        minor = "*" if self.minor is None else str(self.minor)
        return f"{self.type} {major}:{minor} {self.access}"


class HugepageLimit(NamedTuple):
    page_size: str  # "2MB", as the kernel names hugetlb.<size>.* files
    limit: int


class NetworkPriority(NamedTuple):
    name: str
    priority: int


class NetworkResources(NamedTuple):
    class_id: int | None = None
    priorities: tuple[NetworkPriority, ...] = ()


class Resources(NamedTuple):
    """OCI `linux.resources`. `devices` None leaves device access alone; a tuple (even
    empty) starts from deny-all and applies the rules in order, as runc does."""

    memory: MemoryResources | None = None
    cpu: CpuResources | None = None
    pids_limit: int | None = None
    block_io: BlockIOResources | None = None
    devices: tuple[DeviceRule, ...] | None = None
    hugepage_limits: tuple[HugepageLimit, ...] = ()
    network: NetworkResources | None = None
    unified: Mapping[str, str] = MappingProxyType({})

    @classmethod
    def from_spec(cls, spec: dict | None) -> Resources:
        """Parse OCI `linux.resources` (None or {} means no limits). Raises InvalidArgument."""
        return _parse_resources(_Fields(spec, "linux.resources"))


# Rules every container gets after its own (runc's specconv.AllowedDevices): mknod of any
# device, then /dev/null, zero, full, random, urandom, tty, pts/*, ptmx and net/tun. The
# runtime appends these when it builds a container; the managers never add rules on their own.
DEFAULT_DEVICE_RULES: tuple[DeviceRule, ...] = (
    DeviceRule(True, "c", None, None, "m"),
    DeviceRule(True, "b", None, None, "m"),
    DeviceRule(True, "c", 1, 3),
    DeviceRule(True, "c", 1, 5),
    DeviceRule(True, "c", 1, 7),
    DeviceRule(True, "c", 1, 8),
    DeviceRule(True, "c", 1, 9),
    DeviceRule(True, "c", 5, 0),
    DeviceRule(True, "c", 136, None),
    DeviceRule(True, "c", 5, 2),
    DeviceRule(True, "c", 10, 200),
)


@runtime_checkable
class CgroupManager(Protocol):
    """One container's cgroup, in every hierarchy the host has.

    Lifecycle: `create()` makes the directories -> `set(resources)` writes the limits ->
    `add(pid)` moves the container's init in (before it execs) -> while it runs:
    `stats()`, `oom_kill_count()`, `pids()`, `freeze()`/`thaw()`/`frozen()`, and `set()`
    again for updates -> `kill_all(sig)` when stopping -> `destroy()` once the processes
    are gone. `paths` is saved in the container's state so that another process (say
    `delete`) can re-open the manager with `load(paths)` and carry on from any step.
    """

    @property
    def paths(self) -> dict[str, str]:
        """Controller (or "unified" on v2) -> absolute cgroup directory."""
        ...

    def create(self) -> None: ...

    def set(self, resources: Resources) -> None: ...

    def add(self, pid: int) -> None: ...

    def pids(self) -> list[int]: ...

    def stats(self) -> dict: ...

    def oom_kill_count(self) -> int: ...

    def freeze(self) -> None: ...

    def thaw(self) -> None: ...

    def frozen(self) -> bool: ...

    def kill_all(self, sig: int) -> None: ...

    def destroy(self, timeout: float = 2.0) -> None:
        """Remove the cgroup everywhere, waiting up to `timeout` s for exiting tasks."""
        ...


# ---- parsing ---------------------------------------------------------------------------


class _Fields:
    """A JSON object being read, with its dotted path for error messages."""

    def __init__(self, value: Any, path: str) -> None:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise InvalidArgument(f"{path}: must be an object")
        self.value = value
        self.path = path

    def fail(self, name: str, problem: str) -> InvalidArgument:
        return InvalidArgument(f"{self.path}.{name}: {problem}")

    def has(self, name: str) -> bool:
        return self.value.get(name) is not None

    def integer(self, name: str, bounds: tuple[int, int], *, zero_unset: bool = False):
        value = self.value.get(name)
        if value is None:
            return None
        if type(value) is not int:  # bool is an int in Python, and not in JSON
            raise self.fail(name, "must be an integer")
        low, high = bounds
        if not low <= value <= high:
            raise self.fail(name, f"must be between {low} and {high}")
        if zero_unset and value == 0:
            return None
        return value

    def limit(self, name: str) -> int | None:
        """Bytes or -1 (unlimited); 0 is "not set"."""
        value = self.integer(name, INT64, zero_unset=True)
        if value is not None and value < -1:
            raise self.fail(name, "must be -1 (unlimited) or a number of bytes")
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.value.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self.fail(name, "must be true or false")
        return value

    def string(self, name: str) -> str | None:
        value = self.value.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(name, "must be a string")
        return value

    def child(self, name: str) -> _Fields | None:
        if not self.has(name):
            return None
        return _Fields(self.value[name], f"{self.path}.{name}")

    def items(self, name: str) -> list[_Fields]:
        value = self.value.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(name, "must be an array")
        return [_Fields(item, f"{self.path}.{name}[{i}]") for i, item in enumerate(value)]


_CPU_LIST = re.compile(r"^[0-9,\-\s]*$")
_PAGE_SIZE = re.compile(r"^[1-9][0-9]*[KMG]B$")


def _parse_resources(f: _Fields) -> Resources:
    pids = f.child("pids")
    pids_limit = None
    if pids is not None:
        if not pids.has("limit"):
            raise pids.fail("limit", "is required")
        pids_limit = pids.integer("limit", INT64, zero_unset=True)
        if pids_limit is not None and pids_limit < 0:
            pids_limit = -1  # any negative value is "max", as in runc
    devices = None
    if "devices" in f.value and f.value["devices"] is not None:
        devices = tuple(_parse_device(d) for d in f.items("devices"))
    network = f.child("network")
    if f.has("rdma") and f.value["rdma"]:
        raise f.fail("rdma", "is not supported")
    return Resources(
        memory=_parse_memory(f.child("memory")),
        cpu=_parse_cpu(f.child("cpu")),
        pids_limit=pids_limit,
        block_io=_parse_block_io(f.child("blockIO")),
        devices=devices,
        hugepage_limits=tuple(_parse_hugepage(h) for h in f.items("hugepageLimits")),
        network=None if network is None else _parse_network(network),
        unified=_parse_unified(f),
    )


def _parse_memory(f: _Fields | None) -> MemoryResources | None:
    if f is None:
        return None
    limit, swap = f.limit("limit"), f.limit("swap")
    swappiness = f.integer("swappiness", UINT64)
    if swappiness is not None and swappiness > 100:
        raise f.fail("swappiness", "must be between 0 and 100")
    if limit is not None and limit > 0 and swap is not None and 0 < swap < limit:
        raise f.fail("swap", "must be -1 or at least memory.limit (it counts memory+swap)")
    return MemoryResources(
        limit=limit,
        reservation=f.limit("reservation"),
        swap=swap,
        kernel=f.limit("kernel"),
        kernel_tcp=f.limit("kernelTCP"),
        swappiness=swappiness,
        disable_oom_killer=bool(f.boolean("disableOOMKiller")),
        use_hierarchy=f.boolean("useHierarchy"),
        check_before_update=bool(f.boolean("checkBeforeUpdate")),
    )


def _parse_cpu(f: _Fields | None) -> CpuResources | None:
    if f is None:
        return None
    quota = f.integer("quota", INT64, zero_unset=True)
    if quota is not None and quota < -1:
        raise f.fail("quota", "must be -1 (unlimited) or a positive number of microseconds")
    for name in ("cpus", "mems"):
        text = f.string(name)
        if text is not None and not _CPU_LIST.match(text):
            raise f.fail(name, 'must be a list like "0-3,7"')
    return CpuResources(
        shares=f.integer("shares", UINT64, zero_unset=True),
        quota=quota,
        period=f.integer("period", UINT64, zero_unset=True),
        burst=f.integer("burst", UINT64),
        realtime_runtime=f.integer("realtimeRuntime", INT64, zero_unset=True),
        realtime_period=f.integer("realtimePeriod", UINT64, zero_unset=True),
        cpus=f.string("cpus"),
        mems=f.string("mems"),
        idle=f.integer("idle", INT64),
    )


def _parse_block_io(f: _Fields | None) -> BlockIOResources | None:
    if f is None:
        return None

    def throttles(name: str) -> tuple[DeviceThrottle, ...]:
        result = []
        for item in f.items(name):
            major, minor = _device_number(item)
            rate = item.integer("rate", UINT64)
            result.append(DeviceThrottle(major, minor, 0 if rate is None else rate))
        return tuple(result)

    weights = []
    for item in f.items("weightDevice"):
        major, minor = _device_number(item)
        weights.append(
            DeviceWeight(
                major,
                minor,
                item.integer("weight", UINT16, zero_unset=True),
                item.integer("leafWeight", UINT16, zero_unset=True),
            )
        )
    return BlockIOResources(
        weight=f.integer("weight", UINT16, zero_unset=True),
        leaf_weight=f.integer("leafWeight", UINT16, zero_unset=True),
        weight_device=tuple(weights),
        throttle_read_bps=throttles("throttleReadBpsDevice"),
        throttle_write_bps=throttles("throttleWriteBpsDevice"),
        throttle_read_iops=throttles("throttleReadIOPSDevice"),
        throttle_write_iops=throttles("throttleWriteIOPSDevice"),
    )


def _device_number(f: _Fields) -> tuple[int, int]:
    for name in ("major", "minor"):
        if not f.has(name):
            raise f.fail(name, "is required")
    return f.integer("major", DEVICE_NUMBER), f.integer("minor", DEVICE_NUMBER)


def _parse_device(f: _Fields) -> DeviceRule:
    allow = f.boolean("allow")
    if allow is None:
        raise f.fail("allow", "is required")
    kind = f.string("type") or "a"
    if kind not in ("a", "b", "c"):
        raise f.fail("type", 'must be "a", "b" or "c"')
    access = f.string("access")
    if access is None:
        access = "rwm"
    if not access or set(access) - set("rwm"):
        raise f.fail("access", 'must be letters from "rwm"')
    numbers = []
    for name in ("major", "minor"):
        value = f.integer(name, (-1, DEVICE_NUMBER[1]))
        numbers.append(None if value is None or value == -1 else value)
    canonical = "".join(c for c in "rwm" if c in access)
    return DeviceRule(allow, kind, numbers[0], numbers[1], canonical)


def _parse_hugepage(f: _Fields) -> HugepageLimit:
    size = f.string("pageSize")
    if size is None or not _PAGE_SIZE.match(size):
        raise f.fail("pageSize", 'must be a size like "2MB" or "1GB"')
    limit = f.integer("limit", UINT64)
    if limit is None:
        raise f.fail("limit", "is required")
    return HugepageLimit(size, limit)


def _parse_network(f: _Fields) -> NetworkResources:
    priorities = []
    for item in f.items("priorities"):
        name = item.string("name")
        priority = item.integer("priority", UINT32)
        if not name:
            raise item.fail("name", "is required")
        if priority is None:
            raise item.fail("priority", "is required")
        priorities.append(NetworkPriority(name, priority))
    return NetworkResources(class_id=f.integer("classID", UINT32), priorities=tuple(priorities))


def _parse_unified(f: _Fields) -> dict[str, str]:
    raw = f.value.get("unified")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise f.fail("unified", "must be an object of strings")
    result = {}
    for key, value in raw.items():
        if not key or "/" in key or ".." in key:
            raise f.fail(f"unified[{key!r}]", "must be a file name inside the cgroup")
        if not isinstance(value, str):
            raise f.fail(f"unified[{key!r}]", "must be a string")
        result[key] = value
    return result
