"""`estiba update`: change the resources or restart policy of containers."""

from __future__ import annotations

import argparse
from typing import Any

from estiba.cli.base import Context, for_each
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-m", "--memory", default=None, help="Memory limit")
    a("--memory-swap", default=None, help="Swap limit equal to memory plus swap: -1 unlimited")
    a("--cpus", type=float, default=None, help="Number of CPUs")
    a("-c", "--cpu-shares", type=int, default=None, help="CPU shares (relative weight)")
    a("--pids-limit", type=int, default=None, help="Tune container pids limit (-1 unlimited)")
    a("--restart", default=None, help="Restart policy to apply when a container exits")
    a("containers", nargs="+", metavar="CONTAINER")


def update_body(args: argparse.Namespace) -> dict[str, Any]:
    """Only what was asked for: an absent field leaves the container's value alone."""
    from estiba.cli.container_options import restart_policy
    from estiba.cli.units import parse_bytes

    body: dict[str, Any] = {}
    if args.memory is not None:
        body["Memory"] = parse_bytes(args.memory)
    if args.memory_swap is not None:
        body["MemorySwap"] = -1 if args.memory_swap == "-1" else parse_bytes(args.memory_swap)
    if args.cpus is not None:
        body["NanoCpus"] = int(round(args.cpus * 1e9))
    if args.cpu_shares is not None:
        body["CpuShares"] = args.cpu_shares
    if args.pids_limit is not None:
        body["PidsLimit"] = args.pids_limit
    if args.restart is not None:
        body["RestartPolicy"] = restart_policy(args.restart)
    return body


def execute(ctx: Context, args: argparse.Namespace) -> int:
    body = update_body(args)

    def update(ref: str) -> None:
        answer = ctx.client.post(f"/containers/{quote_ref(ref)}/update", body) or {}
        for warning in answer.get("Warnings") or ():
            ctx.stderr.write(f"WARNING: {warning}\n")

    return for_each(ctx, args.containers, update)
