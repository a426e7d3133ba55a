"""`estiba update`: change the resources or restart policy of containers."""

from __future__ import annotations

import argparse
from typing import Any

from estiba.cli.base import Context, for_each
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--blkio-weight", type=int, default=None, help="Block IO (relative weight), between 10 and 1000, or 0 to disable")
    a("--cpu-period", type=int, default=None, help="Limit CPU CFS (Completely Fair Scheduler) period")
    a("--cpu-quota", type=int, default=None, help="Limit CPU CFS (Completely Fair Scheduler) quota")
    a("--cpu-rt-period", type=int, default=None, help="Limit the CPU real-time period in microseconds")
    a("--cpu-rt-runtime", type=int, default=None, help="Limit the CPU real-time runtime in microseconds")
    a("-c", "--cpu-shares", type=int, default=None, help="CPU shares (relative weight)")
    a("--cpus", type=float, default=None, help="Number of CPUs")
    a("--cpuset-cpus", default=None, help="CPUs in which to allow execution (0-3, 0,1)")
    a("--cpuset-mems", default=None, help="MEMs in which to allow execution (0-3, 0,1)")
    a("-m", "--memory", default=None, help="Memory limit")
    a("--memory-reservation", default=None, help="Memory soft limit")
    a("--memory-swap", default=None, help="Swap limit equal to memory plus swap: -1 to enable unlimited swap")
    a("--pids-limit", type=int, default=None, help="Tune container pids limit (set -1 for unlimited)")
    a("--restart", default=None, help="Restart policy to apply when a container exits")
    a("containers", nargs="+", metavar="CONTAINER")


def update_body(args: argparse.Namespace) -> dict[str, Any]:
    """Only what was asked for: an absent field leaves the container's value alone."""
    from estiba.cli.container_options import restart_policy
    from estiba.cli.units import parse_bytes

    body: dict[str, Any] = {}
    for key, value in (
        ("Memory", args.memory), ("MemoryReservation", args.memory_reservation),
    ):  # fmt: skip
        if value is not None:
            body[key] = parse_bytes(value)
    if args.memory_swap is not None:
        body["MemorySwap"] = -1 if args.memory_swap == "-1" else parse_bytes(args.memory_swap)
    if args.cpus is not None:
        body["NanoCpus"] = int(round(args.cpus * 1e9))
    for key, value in (
        ("CpuShares", args.cpu_shares), ("CpuPeriod", args.cpu_period), ("CpuQuota", args.cpu_quota),
        ("CpuRealtimePeriod", args.cpu_rt_period), ("CpuRealtimeRuntime", args.cpu_rt_runtime),
        ("BlkioWeight", args.blkio_weight), ("CpusetCpus", args.cpuset_cpus),
        ("CpusetMems", args.cpuset_mems),
    ):  # fmt: skip
        if value is not None:
            body[key] = value
    if args.pids_limit is not None:
        body["PidsLimit"] = args.pids_limit
    if args.restart is not None:
        body["RestartPolicy"] = restart_policy(args.restart)
    return body


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.errors import InvalidArgument

    body = update_body(args)
    if not body:
        raise InvalidArgument("you must provide one or more flags when using this command")

    def update(ref: str) -> None:
        answer = ctx.client.post(f"/containers/{quote_ref(ref)}/update", body) or {}
        for warning in answer.get("Warnings") or ():
            ctx.stderr.write(f"WARNING: {warning}\n")

    return for_each(ctx, args.containers, update)
