"""`estiba stats`: CPU, memory, network, block I/O and PIDs of containers, as docker
computes them from the daemon's samples; refreshed each second unless --no-stream."""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from estiba.cli.base import Context
from estiba.cli.client import quote_ref

DEFAULT_FORMAT = (
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}"
    "\t{{.BlockIO}}\t{{.PIDs}}"
)
HEADERS = {
    "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
    "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
    "Container": "CONTAINER",
}  # fmt: skip


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    a("--no-stream", action="store_true", help="Disable streaming stats and only pull the first")
    a("--no-trunc", action="store_true", help="Do not truncate output")
    a("--format", default=None, help="Format output using a custom template")
    a("containers", nargs="*", metavar="CONTAINER")


def stats_row(ref: str, sample: dict[str, Any], truncate: bool = True) -> dict[str, str]:
    """docker's figures from one sample (cgroup v1 or v2 memory fields)."""
    from estiba.cli.units import binary_size, human_size_precision

    cpu, precpu = sample.get("cpu_stats") or {}, sample.get("precpu_stats") or {}
    cpu_delta = _get(cpu, "cpu_usage", "total_usage") - _get(precpu, "cpu_usage", "total_usage")
    system_delta = cpu.get("system_cpu_usage", 0) - precpu.get("system_cpu_usage", 0)
    online = cpu.get("online_cpus") or len(_get(cpu, "cpu_usage", "percpu_usage") or []) or 1
    cpu_percent = (
        cpu_delta / system_delta * online * 100 if cpu_delta > 0 and system_delta > 0 else 0.0
    )
    memory = sample.get("memory_stats") or {}
    details = memory.get("stats") or {}
    used = memory.get("usage", 0)
    # docker's calculateMemUsageUnixNoCache: total_inactive_file (v1), else inactive_file (v2).
    cache = details["total_inactive_file"] if "total_inactive_file" in details else details.get("inactive_file", 0)
    if cache < used:
        used -= cache
    limit = memory.get("limit", 0)
    networks = (sample.get("networks") or {}).values()
    rx, tx = (
        sum(n.get("rx_bytes", 0) for n in networks),
        sum(n.get("tx_bytes", 0) for n in networks),
    )
    blkio = (sample.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
    read = sum(e.get("value", 0) for e in blkio if e.get("op", "").lower() == "read")
    write = sum(e.get("value", 0) for e in blkio if e.get("op", "").lower() == "write")
    full_id = sample.get("id", ref)
    return {
        "Container": ref,
        "ID": full_id[:12] if truncate else full_id,
        "Name": sample.get("name", "").lstrip("/") or "--",
        "CPUPerc": f"{cpu_percent:.2f}%",
        "MemUsage": f"{binary_size(used)} / {binary_size(limit)}",
        "MemPerc": f"{used / limit * 100 if limit else 0.0:.2f}%",
        "NetIO": f"{human_size_precision(rx, 3)} / {human_size_precision(tx, 3)}",
        "BlockIO": f"{human_size_precision(read, 3)} / {human_size_precision(write, 3)}",
        "PIDs": str((sample.get("pids_stats") or {}).get("current", 0)),
    }


def _get(mapping: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        mapping = (mapping or {}).get(key) or {}
    return mapping or 0


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.format import Template, render_table

    refs = list(args.containers)
    if not refs:
        summaries = ctx.client.call("GET", "/containers/json", {"all": args.all}) or []
        refs = [s["Id"] for s in summaries]
    template = Template(args.format or DEFAULT_FORMAT, HEADERS)
    def sample(ref: str) -> dict[str, Any]:
        # Each takes a second (the daemon primes the CPU figures): ask for all at once.
        return ctx.client.call("GET", f"/containers/{quote_ref(ref)}/stats", {"stream": False}) or {}

    while True:
        with ThreadPoolExecutor(max_workers=min(16, len(refs) or 1)) as pool:
            samples = list(pool.map(sample, refs))
        rows = [stats_row(ref, s, truncate=not args.no_trunc) for ref, s in zip(refs, samples)]
        text = (
            render_table(template, rows)
            if template.table
            else "".join(template.render(row) + "\n" for row in rows)
        )
        if args.no_stream:
            ctx.stdout.write(text)
            return 0
        ctx.stdout.write("\033[2J\033[H" + text)  # clear the screen, as docker does
        ctx.stdout.flush()
        time.sleep(1)
