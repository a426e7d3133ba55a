"""How long spawning takes from the fork server and as a new interpreter, and what a running
shim costs in memory. Printed (run with -s), never asserted: the machine is shared."""

from __future__ import annotations

import statistics
import time

from estiba.shim import spawn_direct

COUNT = 20


def pss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def test_spawn_time_fork_server_vs_direct(fork_server, roots, make_bundle):
    bundle = make_bundle(args=["true"])
    medians = {}
    for name, spawn in (("fork server", fork_server.spawn), ("spawn_direct", spawn_direct)):
        times = []
        for _ in range(COUNT):
            spec = roots.spec(bundle)
            started = time.perf_counter()
            handle = spawn(spec)
            times.append(time.perf_counter() - started)
            assert handle.wait_released(10)["exit_code"] == 0
        medians[name] = statistics.median(times)
    print(
        f"\nspawn to started, median of {COUNT}: fork server {medians['fork server'] * 1000:.1f} ms, "
        f"spawn_direct {medians['spawn_direct'] * 1000:.1f} ms"
    )


def test_memory_of_running_shims(fork_server, roots, make_bundle):
    bundle = make_bundle(args=["sleep", "30"])
    handles = [fork_server.spawn(roots.spec(bundle)) for _ in range(3)]
    direct = spawn_direct(roots.spec(bundle))
    time.sleep(0.2)
    forked = [pss_kib(h.shim_pid()) for h in handles]
    print(f"\nshim PSS: forked {forked} KiB, direct {pss_kib(direct.shim_pid())} KiB")
    for handle in [*handles, direct]:
        handle.kill(9)
    for handle in [*handles, direct]:
        handle.wait_released(10)
