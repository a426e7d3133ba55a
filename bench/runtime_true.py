"""Benchmark: wall time of running /bin/true in one busybox bundle, per engine.

Engines: estiba-runtime (the venv's entry point) and runc, each with `run` and its own
--root and a unique container id per run, alternating so that both see the same machine
state; estiba-fork, the engine's path (DESIGN.md principle 7): this process has already
imported the runtime, and each run is a fork that calls `estiba.runtime.run` (what the
fork server does), so no interpreter starts; and the floor, `unshare -m -i -n -p -u -f chroot rootfs /bin/true`, which creates
the namespaces and nothing else. Run as root:

    .venv/bin/python bench/runtime_true.py [--runs 30] [--json] [--engines estiba,runc,floor]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ESTIBA_RUNTIME = REPO / ".venv" / "bin" / "estiba-runtime"
ENGINES = ("estiba", "estiba-fork", "runc", "floor")
WARMUP_RUNS = 2


@dataclass
class Result:
    engine: str
    version: str
    runs: int
    median_ms: float
    p90_ms: float
    ratio_to_runc: float | None


class EngineFailed(Exception):
    def __init__(self, engine: str, argv: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{engine} failed ({' '.join(argv)} exited {returncode})")
        self.engine = engine
        self.stderr = stderr


class Engine:
    """One way of running /bin/true in the bundle; `argv(run)` is the command of one run."""

    def __init__(self, name: str, bundle: Path, state_root: Path) -> None:
        self.name = name
        self.bundle = bundle
        self.root = state_root / name
        self.root.mkdir()

    def argv(self, run: str) -> list[str]:
        cid = f"bench-{self.name}-{os.getpid()}-{run}"
        if self.name == "estiba":
            return [str(ESTIBA_RUNTIME), "--root", str(self.root), "run", "--bundle", str(self.bundle), cid]
        if self.name == "runc":
            return [runc_path(), "--root", str(self.root), "run", "--bundle", str(self.bundle), cid]
        rootfs = str(self.bundle / "rootfs")
        return ["unshare", "-m", "-i", "-n", "-p", "-u", "-f", "chroot", rootfs, "/bin/true"]

    def version(self) -> str:
        if self.name in ("estiba", "estiba-fork"):
            argv = [str(ESTIBA_RUNTIME), "--version"]
        elif self.name == "runc":
            argv = [runc_path(), "--version"]
        else:
            argv = ["unshare", "--version"]
        out = subprocess.run(argv, capture_output=True, text=True)
        lines = (out.stdout or out.stderr).strip().splitlines()
        return lines[0] if out.returncode == 0 and lines else "unknown"

    def time_one(self, run: str) -> float:
        if self.name == "estiba-fork":
            return self._time_fork(run)
        argv = self.argv(run)
        start = time.perf_counter()
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise EngineFailed(self.name, argv, done.returncode, done.stderr)
        return elapsed * 1000


    def _time_fork(self, run: str) -> float:
        from estiba.runtime.run import run as run_container

        cid = f"bench-fork-{os.getpid()}-{run}"
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = run_container(cid, str(self.bundle), root=str(self.root))
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise EngineFailed(self.name, ["fork", "run", cid], os.waitstatus_to_exitcode(status), "")
        return elapsed * 1000


def preload_runtime() -> None:
    """Import what a fork-server child needs, as the engine's fork server does at start."""
    import estiba.runtime.cgroups.base  # noqa: F401
    import estiba.runtime.cgroups.factory  # noqa: F401
    import estiba.runtime.cgroups.v1  # noqa: F401
    import estiba.runtime.cgroups.v2  # noqa: F401
    import estiba.runtime.run  # noqa: F401


def runc_path() -> str:
    return shutil.which("runc") or "/usr/sbin/runc"


def build_bundle(dest: Path) -> Path:
    sys.path.insert(0, str(REPO / "src"))
    from estiba.images import busybox_rootfs
    from estiba.runtime.specgen import default_spec, write_bundle

    busybox_rootfs(dest / "rootfs")
    write_bundle(dest, default_spec(args=["/bin/true"]))
    return dest


def p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def measure(engines: list[Engine], runs: int) -> dict[str, list[float]]:
    """Warm up each engine, then interleave them run by run."""
    for engine in engines:
        for index in range(WARMUP_RUNS):
            engine.time_one(f"warmup{index}")
    samples: dict[str, list[float]] = {engine.name: [] for engine in engines}
    for index in range(runs):
        # Alternate the order too, so no engine always runs right after another.
        order = engines if index % 2 == 0 else list(reversed(engines))
        for engine in order:
            samples[engine.name].append(engine.time_one(str(index)))
    return samples


def summarize(engines: list[Engine], samples: dict[str, list[float]]) -> list[Result]:
    runc_median = statistics.median(samples["runc"]) if "runc" in samples else None
    results = []
    for engine in engines:
        median = statistics.median(samples[engine.name])
        results.append(
            Result(
                engine=engine.name,
                version=engine.version(),
                runs=len(samples[engine.name]),
                median_ms=round(median, 2),
                p90_ms=round(p90(samples[engine.name]), 2),
                ratio_to_runc=round(median / runc_median, 2) if runc_median else None,
            )
        )
    return results


def print_table(results: list[Result]) -> None:
    header = ("engine", "version", "median ms", "p90 ms", "ratio to runc")
    rows = [
        (
            r.engine,
            r.version,
            f"{r.median_ms:.1f}",
            f"{r.p90_ms:.1f}",
            f"{r.ratio_to_runc:.2f}" if r.ratio_to_runc is not None else "-",
        )
        for r in results
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="measured runs per engine (default 30)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help=f"comma-separated subset of {','.join(ENGINES)} (default: all)",
    )
    args = parser.parse_args(argv)
    args.engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = sorted(set(args.engines) - set(ENGINES))
    if unknown or not args.engines:
        parser.error(f"unknown engine(s) {unknown}; choose from {','.join(ENGINES)}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("runtime_true: run as root (runtimes need it)", file=sys.stderr)
        return 1
    if {"estiba", "estiba-fork"} & set(args.engines) and not ESTIBA_RUNTIME.exists():
        print(f"runtime_true: {ESTIBA_RUNTIME} missing: run scripts/setup.sh", file=sys.stderr)
        return 1
    # State roots on tmpfs (/run) like runc's default /run/runc.
    base = Path(tempfile.mkdtemp(prefix="estiba-bench-", dir="/run" if os.access("/run", os.W_OK) else None))
    try:
        bundle = build_bundle(base / "bundle")
        engines = [Engine(name, bundle, base) for name in ENGINES if name in args.engines]
        if "estiba-fork" in args.engines:
            preload_runtime()
        try:
            samples = measure(engines, args.runs)
        except EngineFailed as failure:
            print(f"runtime_true: {failure}", file=sys.stderr)
            print(failure.stderr.rstrip(), file=sys.stderr)
            return 1
        results = summarize(engines, samples)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
