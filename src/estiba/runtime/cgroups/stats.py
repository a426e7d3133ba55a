"""Cgroup statistics in the shape of `runc events --stats`, and parsers for the stat files.

Shape (every key always present; numbers are ints, times in nanoseconds, sizes in bytes):

    {"cpu": {"usage": {"total", "percpu", "percpu_kernel", "percpu_user", "kernel", "user"},
             "throttling": {"periods", "throttledPeriods", "throttledTime"}},
     "memory": {"cache", "usage": ENTRY, "swap": ENTRY, "kernel": ENTRY, "kernelTCP": ENTRY,
                "raw": {memory.stat key: value}},
     "pids": {"current", "limit"},
     "blkio": {"ioServiceBytesRecursive": [BLKIO], "ioServicedRecursive": [BLKIO]},
     "hugetlb": {"2MB": {"usage", "max", "failcnt"}}}
    ENTRY = {"limit", "usage", "max", "failcnt"}; BLKIO = {"major", "minor", "op", "value"}

A limit of "max" (no limit) reads as 2**64-1 for memory, as runc reports it, and 0 for pids.
"""

from __future__ import annotations

UNLIMITED = 2**64 - 1


def empty_entry() -> dict:
    return {"limit": 0, "usage": 0, "max": 0, "failcnt": 0}


def empty() -> dict:
    return {
        "cpu": {
            "usage": {
                "total": 0,
                "percpu": [],
                "percpu_kernel": [],
                "percpu_user": [],
                "kernel": 0,
                "user": 0,
            },
            "throttling": {"periods": 0, "throttledPeriods": 0, "throttledTime": 0},
        },
        "memory": {
            "cache": 0,
            "usage": empty_entry(),
            "swap": empty_entry(),
            "kernel": empty_entry(),
            "kernelTCP": empty_entry(),
            "raw": {},
        },
        "pids": {"current": 0, "limit": 0},
        "blkio": {"ioServiceBytesRecursive": [], "ioServicedRecursive": []},
        "hugetlb": {},
    }


def flat_keyed(text: str) -> dict[str, int]:
    """Files of "key value" lines (memory.stat, cpu.stat, memory.events, ...)."""
    result = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                result[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return result


def blkio_v1(text: str) -> list[dict]:
    """blkio.*_recursive lines "8:0 Read 4096"; the closing "Total N" line is dropped."""
    entries = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3 or ":" not in parts[0]:
            continue
        major, minor = parts[0].split(":", 1)
        entries.append(
            {"major": int(major), "minor": int(minor), "op": parts[1], "value": int(parts[2])}
        )
    return entries


_IO_STAT_BYTES = {"rbytes": "Read", "wbytes": "Write", "dbytes": "Discard"}
_IO_STAT_IOS = {"rios": "Read", "wios": "Write", "dios": "Discard"}


def io_stat_v2(text: str) -> tuple[list[dict], list[dict]]:
    """io.stat lines "8:0 rbytes=1 wbytes=2 rios=3 ..." -> (bytes entries, ios entries)."""
    service_bytes, serviced = [], []
    for line in text.splitlines():
        parts = line.split()
        if not parts or ":" not in parts[0]:
            continue
        major, minor = (int(n) for n in parts[0].split(":", 1))
        for pair in parts[1:]:
            key, _, value = pair.partition("=")
            for names, target in ((_IO_STAT_BYTES, service_bytes), (_IO_STAT_IOS, serviced)):
                if key in names:
                    target.append(
                        {"major": major, "minor": minor, "op": names[key], "value": int(value)}
                    )
    return service_bytes, serviced


def int_list(text: str) -> list[int]:
    return [int(n) for n in text.split()]
