"""Benchmark: snapshots, restores and copies of a container that wrote 1 GB (issue 5).

One private estibad (bench/engine.py: a byte-compiled snapshot of src/, its own data and
exec roots, busybox bootstrapped). A container writes --size-mb of random data (dd from
/dev/urandom into its writable layer) and stops. Then, each round:

1. `snapshot create` of the stopped container: its writable layer is frozen in place,
   no data copied;
2. `snapshot restore` of the stopped container to it;
3. `container copy C/SNAP NEW` from that snapshot, and `container copy C NEW` of the
   stopped container now (the new container is removed after each);
4. the container started: `snapshot create` of the running container when it has
   written little since the last freeze (its upper directory is what is copied, paused);
5. the running container writes --size-mb again, and `snapshot create` again: the
   running case at its worst, a copy of 1 GB;
6. `snapshot restore --force` of the running container (stop, restore, start).

Every row is the median of the rounds' wall times of the estiba CLI, and the extra disk
each step took: `du -sb` of the data root and the filesystem's used blocks, before and
after (the snapshots of step 4 and 5 are removed at the end of a round, the data of step
5 with them). `--fs xfs` (or btrfs) puts the daemon's roots on a filesystem of that kind,
made for the run in a sparse file under /tmp and loop-mounted: there the copy of a running
container's upper directory is a reflink (`cp --reflink=auto`), shared blocks, not data.
Run as root (a README command, not a test):

    .venv/bin/python bench/snapshot.py [--rounds 3] [--size-mb 1024] [--fs xfs|btrfs] [--json FILE] [--markdown]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import engine as eng  # noqa: E402 - bench/engine.py: daemons, snapshot, versions, cleanup
from engine import Bench, Engine, log, sh  # noqa: E402

LOOP = "trap 'exit 0' TERM; while true; do sleep 0.1; done"
ROWS = {
    "snapshot_stopped": "snapshot create, stopped (freeze in place)",
    "restore_stopped": "snapshot restore, stopped",
    "copy_from_snapshot": "container copy C/SNAP NEW",
    "copy_stopped": "container copy C NEW, C stopped",
    "snapshot_running_small": "snapshot create, running, little written since the last freeze",
    "snapshot_running_big": "snapshot create, running, {size} MB written since the last freeze",
    "restore_running": "snapshot restore --force, running (stop, restore, start)",
}


class Disk:
    """Extra disk a step takes: du -sb of the data root, and the filesystem's used bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def now(self) -> tuple[int, int]:
        du = int(sh(["du", "-sb", str(self.root)], timeout=600).stdout.split()[0])
        stat = os.statvfs(self.root)
        return du, (stat.f_blocks - stat.f_bfree) * stat.f_frsize


def timed(engine: Engine, *args: str) -> float:
    started = time.perf_counter()
    engine.call(*args, timeout=900)
    return time.perf_counter() - started


def measure(engine: Engine, disk: Disk, size_mb: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    samples: dict[str, dict[str, list[float]]] = {row: {"s": [], "du": [], "used": []} for row in ROWS}

    def step(row: str, *args: str) -> None:
        du, used = disk.now()
        samples[row]["s"].append(timed(engine, *args))
        du_after, used_after = disk.now()
        samples[row]["du"].append(du_after - du)
        samples[row]["used"].append(used_after - used)

    write = f"rm -f /big; dd if=/dev/urandom of=/big bs=1M count={size_mb} 2>/dev/null; sync"
    engine.call("run", "-d", "--name", "big", "busybox", "sh", "-c", LOOP)
    log(f"writing {size_mb} MB in the container")
    engine.call("exec", "big", "sh", "-c", write, timeout=900)
    engine.call("stop", "big", timeout=120)
    for index in range(rounds):
        log(f"round {index + 1}/{rounds}")
        step("snapshot_stopped", "snapshot", "create", "big", f"s{index}")
        step("restore_stopped", "snapshot", "restore", "big", f"s{index}")
        step("copy_from_snapshot", "container", "copy", f"big/s{index}", "copy-snap")
        step("copy_stopped", "container", "copy", "big", "copy-now")
        engine.call("rm", "-f", "copy-snap", "copy-now", timeout=300)
        engine.call("start", "big")
        step("snapshot_running_small", "snapshot", "create", "big", f"small{index}")
        engine.call("exec", "big", "sh", "-c", write, timeout=900)
        step("snapshot_running_big", "snapshot", "create", "big", f"big{index}")
        step("restore_running", "snapshot", "restore", "--force", "big", f"s{index}")
        engine.call("stop", "big", timeout=120)
        engine.call("snapshot", "rm", "big", f"small{index}")
        engine.call("snapshot", "rm", "big", f"big{index}")
    return samples


def table(samples: dict[str, dict[str, list[float]]], size_mb: int) -> tuple[list[str], list[list[str]]]:
    header = ["step", "median s (max)", "extra disk: du of data root", "extra disk: fs used"]
    body = []
    for row, label in ROWS.items():
        cell = samples[row]
        body.append([
            label.format(size=size_mb),
            f"{statistics.median(cell['s']):.3f} ({max(cell['s']):.3f})",
            _mb(statistics.median(cell["du"])),
            _mb(statistics.median(cell["used"])),
        ])  # fmt: skip
    return header, body


def _mb(value: float) -> str:
    return f"{value / 1e6:.1f} MB"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each a sample of every row (default 3)")
    parser.add_argument("--size-mb", type=int, default=1024, help="data the container writes (default 1024)")
    parser.add_argument("--json", default=None, help="write the samples and versions here")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--fs", choices=("xfs", "btrfs"), default=None,
                        help="the daemon's roots on a loop-mounted filesystem of this kind (reflinks)")
    return parser.parse_args(argv)


class LoopFilesystem:
    """A filesystem of `kind` in a sparse file under /tmp, loop-mounted for the run."""

    def __init__(self, kind: str, size_mb: int) -> None:
        import shutil
        import tempfile

        tool = f"mkfs.{kind}"
        if not shutil.which(tool):
            raise eng.BenchError(f"{tool} is missing (apt-get install {kind}progs)")
        self.image = Path(tempfile.mkstemp(prefix=f"eb-{kind}-", suffix=".img", dir="/tmp")[1])
        self.mount_point = Path(tempfile.mkdtemp(prefix=f"eb-{kind}-", dir="/tmp"))
        self.mounted = False
        try:
            os.truncate(self.image, size_mb << 20)
            sh([tool, "-q" if kind == "xfs" else "-f", *(["-f"] if kind == "xfs" else []), str(self.image)],
               timeout=120)
            sh(["mount", "-o", "loop", str(self.image), str(self.mount_point)], timeout=60)
            self.mounted = True
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.mounted:
            sh(["umount", str(self.mount_point)], timeout=60, check=False)
            self.mounted = False
        with contextlib.suppress(OSError):
            self.mount_point.rmdir()
        self.image.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("bench/snapshot.py: run it as root (it starts a private estibad)", file=sys.stderr)
        return 2
    bench = Bench(["estiba"])
    loop = None
    try:
        if args.fs:
            loop = LoopFilesystem(args.fs, 4 * args.size_mb + 2048)
            bench.base.rmdir()
            bench.base = loop.mount_point / "bench"
            bench.base.mkdir()
        bench.start()
        engine = bench.engines["estiba"]
        samples = measure(engine, Disk(bench.base / "es" / "data"), args.size_mb, args.rounds)
        versions, machine = eng.versions(bench), eng.machine()
    finally:
        bench.cleanup()
        if loop is not None:
            loop.close()
    header, body = table(samples, args.size_mb)
    if args.fs:
        machine["data root"] = f"{args.fs} (loop-mounted, reflinks)"
    print(f"machine: {machine}")
    print(f"versions: estiba {versions.get('estiba')}, python {versions.get('python')}")
    eng.print_table(header, body, args.markdown)
    if args.json:
        Path(args.json).write_text(json.dumps({"samples": samples, "machine": machine, "versions": versions,
                                               "size_mb": args.size_mb, "rounds": args.rounds}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
