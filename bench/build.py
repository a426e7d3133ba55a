"""Benchmark: image builds against Docker 20.10's classic builder and Podman (buildah).

The same Dockerfile (FROM busybox, ENV, LABEL, three RUN steps, WORKDIR, a COPY of a
10 MB random file from the context, CMD) is built by each engine (columns):

- `estiba`: `estiba build` -> estibad;
- `docker-estibad`: `DOCKER_BUILDKIT=0 docker build` (the docker CLI's classic builder
  path, POST /build with a tar context) -> estibad;
- `dockerd`: `DOCKER_BUILDKIT=0 docker build` -> Debian's dockerd 20.10 (classic builder);
- `podman`: `podman build --layers` (buildah, runc, no daemon).

Measurements (rows), each one wall time of the client command:

1. cold build: build cache and every image but busybox removed first (estiba: `builder
   prune -a -f` and `rmi`; dockerd: `docker builder prune -a -f` and `docker rmi`;
   podman: `podman rmi` of every image but busybox, i.e. its layer cache);
2. fully cached rebuild: the same context again, unchanged (--cached-repeat times per
   round, each one a sample: this is the row where the engines are closest);
3. rebuild after changing the 10 MB file (16 random bytes written at its start, which also
   bumps its mtime): every step before the COPY comes from the cache, the COPY and what
   follows are built again.

Each round runs, engine by engine (the order reversed every other round, since the VM is
noisy), reset -> cold -> cached -> changed; estiba and docker-estibad share one estibad,
so they cannot be interleaved phase by phase. Each engine has its own copy of the context.
The image ids are checked: the cached rebuild must give the cold build's id, the changed
one a new id. The daemons are the private ones of bench/engine.py (estibad from a
byte-compiled snapshot of src/ taken at start, dockerd and podman with private roots,
busybox bootstrapped into estibad and loaded into the others), except that dockerd gets a
bridge of its own instead of docker0 (see BuildBench). RUN steps use each engine's default
network (estibad: the host's; dockerd: its bridge and a veth; podman: netavark's bridge)
unless --network is given. Everything is removed in
`finally`. Run as root (a README command, not a test):

    .venv/bin/python bench/build.py [--runs 5] [--warmup 1] [--cached-repeat 3] [--network MODE]
                                    [--engines estiba,docker-estibad,dockerd,podman] [--json FILE] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import engine as eng  # noqa: E402 - bench/engine.py: daemons, snapshot, versions, cleanup
from engine import DOCKER, ESTIBA, ESTIBAD, PODMAN_RUN_FLAGS, Bench, BenchError, Engine, log, sh  # noqa: E402

ENGINES = ("estiba", "docker-estibad", "dockerd", "podman")
REFERENCE = "dockerd"
TAG = "estiba-bench-build:latest"
BIG_FILE = "big.bin"
BIG_SIZE = 10 * 1024 * 1024
BUILD_TIMEOUT = 600.0

DOCKERFILE = f"""\
FROM busybox
ENV APP_HOME=/app GREETING=hi
LABEL org.example.bench=build
RUN mkdir -p /app && echo hi > /app/a
RUN sh -c 'for i in $(seq 200); do echo $i; done > /app/b'
WORKDIR /app
RUN cat a b | wc -l > lines
COPY {BIG_FILE} /app/{BIG_FILE}
CMD ["sh", "-c", "ls -l /app"]
"""
STEPS = sum(1 for line in DOCKERFILE.splitlines() if line.strip())

METRICS = {
    "cold": "cold build (s)",
    "cached": "fully cached rebuild (s)",
    "changed": "rebuild after changing the 10 MB file (s)",
}
CACHE_LINE = re.compile(rb"^\s*-+>\s*Using cache", re.MULTILINE)


class Builder:
    """How one engine builds, resets its cache and lists its images."""

    def __init__(self, engine: Engine, context: Path, iidfile: Path, network: str | None) -> None:
        self.engine = engine
        self.name = engine.name
        self.context = context
        self.iidfile = iidfile
        self.network = network
        self.env = dict(engine.env)
        self.failures: list[str] = []
        self.failed_in_a_row = 0
        self.notes: list[str] = []
        if self.name in ("docker-estibad", "dockerd"):
            self.env["DOCKER_BUILDKIT"] = "0"

    def build_argv(self) -> list[str]:
        extra = ["--network", self.network] if self.network else []
        if self.name == "podman":
            extra = ["--layers", *PODMAN_RUN_FLAGS, *extra]
        return self.engine.cmd("build", *extra, "-t", TAG, "--iidfile", str(self.iidfile), str(self.context))

    def build(self) -> tuple[float, str, int]:
        """One timed build: seconds, image id, number of steps reported as cached."""
        with_id = self.iidfile
        if with_id.exists():
            with_id.unlink()
        argv = self.build_argv()
        start = time.perf_counter()
        done = sh(argv, env=self.env, timeout=BUILD_TIMEOUT, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise BenchError(f"{' '.join(argv)} exited {done.returncode}: "
                             f"{(done.stdout + done.stderr).decode(errors='replace').strip()[-2000:]}")
        image_id = with_id.read_text().strip() if with_id.exists() else ""
        if not image_id:
            raise BenchError(f"{self.name}: build wrote no image id to --iidfile")
        return elapsed, image_id, len(CACHE_LINE.findall(done.stdout + done.stderr))

    def image_ids(self) -> list[str]:
        return self.engine.call("images", "-a", "-q", "--no-trunc").split()

    def reset(self, keep: str) -> None:
        """Drop the build cache and every image but busybox (untimed)."""
        sh(self.engine.cmd("rmi", "-f", TAG), env=self.env, check=False, timeout=300)
        if self.name != "podman":  # podman's layer cache is its intermediate images, removed below
            sh(self.engine.cmd("builder", "prune", "-a", "-f"), env=self.env, timeout=300)
        for _ in range(3):
            others = [i for i in self.image_ids() if _bare(i) != _bare(keep)]
            if not others:
                return
            sh(self.engine.cmd("rmi", "-f", *others), env=self.env, check=False, timeout=300)
        left = [i for i in self.image_ids() if _bare(i) != _bare(keep)]
        if left:
            raise BenchError(f"{self.name}: could not remove images {left} before the cold build")


class BuildBench(Bench):
    """bench/engine.py's Bench, but the private dockerd gets a bridge of its own
    (`--bridge eb-<6 hex>`, made here with a free /24) instead of docker0: other benches
    running at the same time (engine.py, registry.py) start and remove docker0 on their
    own, and a dockerd whose bridge vanished fails every RUN step."""

    def __init__(self, engines: list[str]) -> None:
        super().__init__(engines)
        self.bridge: str | None = None

    def _make_bridge(self) -> str:
        name = f"eb-{os.urandom(3).hex()}"
        used = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
        for third in range(200, 256):
            if f"10.213.{third}." not in used:
                break
        else:
            raise BenchError("no free 10.213.x.0/24 subnet for the dockerd bridge")
        sh(["ip", "link", "add", name, "type", "bridge"])
        self.bridge = name
        sh(["ip", "addr", "add", f"10.213.{third}.1/24", "dev", name])
        sh(["ip", "link", "set", name, "up"])
        return name

    def _spawn(self, argv: list[str], logname: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        if argv and argv[0] == "dockerd":
            argv = [*argv, "--bridge", self._make_bridge()]
        return super()._spawn(argv, logname, env)

    def cleanup(self) -> None:
        try:
            super().cleanup()
        finally:
            if self.bridge and os.path.exists(f"/sys/class/net/{self.bridge}"):
                subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


def _bare(image_id: str) -> str:
    return image_id.split(":", 1)[-1]


def make_context(path: Path, data: bytes) -> None:
    path.mkdir(parents=True)
    (path / "Dockerfile").write_text(DOCKERFILE)
    (path / BIG_FILE).write_bytes(data)


def change_big_file(context: Path) -> None:
    with open(context / BIG_FILE, "r+b") as f:
        f.write(os.urandom(16))
    os.utime(context / BIG_FILE)


def run_rounds(builders: list[Builder], runs: int, warmup: int, keep: dict[str, str], cached_repeat: int
               ) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, list[int]]]]:
    samples: dict[str, dict[str, list[float]]] = {m: {} for m in METRICS}
    cached_steps: dict[str, dict[str, list[int]]] = {m: {} for m in METRICS}
    live = list(builders)
    for index in range(warmup + runs):
        measured = index >= warmup
        label = f"round {index - warmup + 1}/{runs}" if measured else f"warm-up {index + 1}/{warmup}"
        log(label)
        for builder in (live if index % 2 == 0 else list(reversed(live))):
            try:
                builder.reset(keep[builder.name])
                cold, cold_id, cold_hits = builder.build()
                repeats = [builder.build() for _ in range(cached_repeat)]
                cached = statistics.median(r[0] for r in repeats)
                cached_id = next((r[1] for r in repeats if r[1] != cold_id), cold_id)
                cached_hits = min(r[2] for r in repeats)
                change_big_file(builder.context)
                changed, changed_id, changed_hits = builder.build()
            except BenchError as exc:
                builder.failures.append(f"{label}: {exc}")
                log(f"{builder.name}: failed: {exc}")
                builder.failed_in_a_row += 1
                if builder.failed_in_a_row >= 2:
                    log(f"{builder.name}: failed twice in a row, dropped")
                    live.remove(builder)
                continue
            builder.failed_in_a_row = 0
            if cached_id != cold_id:
                builder.notes.append(f"{label}: cached rebuild gave {cached_id[:19]}, cold build {cold_id[:19]}")
            if cached_hits < STEPS - 1:
                builder.notes.append(f"{label}: a cached rebuild reported {cached_hits} of {STEPS - 1} steps cached")
            if changed_id == cold_id:
                builder.notes.append(f"{label}: changing {BIG_FILE} did not change the image id")
            log(f"  {builder.name}: cold {cold:.2f}s, cached {cached:.2f}s (median of {cached_repeat}, "
                f"{cached_hits} steps cached), "
                f"changed {changed:.2f}s ({changed_hits} cached)")
            if not measured:
                continue
            for metric, values, hits in (("cold", [cold], cold_hits), ("cached", [r[0] for r in repeats], cached_hits),
                                         ("changed", [changed], changed_hits)):
                samples[metric].setdefault(builder.name, []).extend(values)
                cached_steps[metric].setdefault(builder.name, []).append(hits)
    return samples, cached_steps


def goals(table: dict) -> list[tuple[str, str, bool | None]]:
    def med(metric: str, name: str) -> float | None:
        return table.get(metric, {}).get(name, {}).get("median")

    out: list[tuple[str, str, bool | None]] = []
    for name in ("estiba", "docker-estibad"):
        ours, theirs = med("cold", name), med("cold", "dockerd")
        ok = None if ours is None or theirs is None else ours <= theirs
        out.append((f"cold build no slower than dockerd's ({name})",
                    "-" if ok is None else f"{ours:.2f} / {theirs:.2f} s = {ours / theirs:.2f}", ok))
    for name in ("estiba", "docker-estibad"):
        ours = med("cached", name)
        out.append((f"cached rebuild under 1 s ({name})", "-" if ours is None else f"{ours:.2f} s",
                    None if ours is None else ours < 1.0))
        others = {o: med("cached", o) for o in ("dockerd", "podman")}
        if ours is None or any(v is None for v in others.values()):
            out.append((f"cached rebuild faster than dockerd and podman ({name})", "-", None))
        else:
            shown = f"{ours:.2f} vs " + ", ".join(f"{o} {v:.2f}" for o, v in others.items()) + " s"
            out.append((f"cached rebuild faster than dockerd and podman ({name})", shown,
                        all(ours < v for v in others.values())))
    return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first (default 1)")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"comma-separated subset of {','.join(ENGINES)} (default: all)")
    parser.add_argument("--cached-repeat", type=int, default=3,
                        help="cached rebuilds per round, each one a sample (default 3)")
    parser.add_argument("--network", help="pass --network MODE to every build (default: each engine's own)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--no-snapshot", action="store_true",
                        help="run estiba from the work tree, not from a byte-compiled copy made at start")
    args = parser.parse_args(argv)
    args.engines = eng.engine_names(parser, args.engines)
    if args.runs < 1 or args.warmup < 0 or args.cached_repeat < 1:
        parser.error("--runs and --cached-repeat must be at least 1, --warmup at least 0")
    return args


def _var_tmp() -> set[str]:
    try:
        return set(os.listdir("/var/tmp"))
    except OSError:
        return set()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("build: run as root (the daemons need it)", file=sys.stderr)
        return 1
    wanted = set(args.engines)
    tools = ((str(ESTIBAD), True), (str(ESTIBA), True), (DOCKER, bool({"docker-estibad", "dockerd"} & wanted)),
             ("dockerd", "dockerd" in wanted), ("podman", "podman" in wanted), ("runc", "podman" in wanted))
    missing = [tool for tool, needed in tools if needed and not shutil.which(tool)]
    if missing:
        print(f"build: missing {', '.join(missing)} (scripts/setup.sh; apt-get install docker.io podman runc)",
              file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, eng._terminate)
    var_tmp_before = _var_tmp()
    bench = BuildBench(args.engines)
    started = time.time()
    builders: list[Builder] = []
    try:
        log(f"temporary directory {bench.base}")
        bench.start(snapshot=not args.no_snapshot)
        found = eng.versions(bench)
        data = os.urandom(BIG_SIZE)
        keep = {}
        for engine in bench.started:
            context = bench.base / "ctx" / engine.name
            make_context(context, data)
            builder = Builder(engine, context, bench.base / "ctx" / f"{engine.name}.iid", args.network)
            if engine.name == "podman":
                # buildah's scratch files go to the private tmpdir, not /var/tmp
                builder.env["TMPDIR"] = str(bench.base / "pd" / "tmp")
                (bench.base / "pd" / "tmp").mkdir(parents=True, exist_ok=True)
            keep[engine.name] = builder.engine.call("image", "inspect", "--format", "{{.Id}}", "busybox")
            builders.append(builder)
        log(f"{STEPS}-step Dockerfile, {BIG_SIZE >> 20} MB COPY; {args.warmup} warm-up + {args.runs} rounds")
        samples, cached_steps = run_rounds(builders, args.runs, args.warmup, keep, args.cached_repeat)
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        return 130
    except BenchError as exc:
        log(f"failed: {exc}")
        return 1
    finally:
        bench.cleanup()
        for name in _var_tmp() - var_tmp_before:
            if name.startswith("buildah"):
                shutil.rmtree(Path("/var/tmp") / name, ignore_errors=True)
    table = eng.spread_table(samples, REFERENCE)
    names = [b.name for b in builders]
    header, body = eng.spread_rows(table, names, METRICS, REFERENCE)
    print(f"build benchmark: {args.runs} rounds after {args.warmup} warm-up ({args.cached_repeat} cached rebuilds "
          f"per round), median (min-max) seconds, xN = ratio to {REFERENCE}'s median")
    eng.print_table(header, body, args.markdown)
    print()
    print("steps reported as cached (median): " + "; ".join(
        f"{m}: " + ", ".join(f"{n} {statistics.median(v):.0f}" for n, v in per.items())
        for m, per in cached_steps.items()))
    print(f"network for RUN: {args.network or 'each engine default'}")
    for builder in builders:
        for note in builder.notes:
            print(f"note: {builder.name}: {note}")
        for failure in builder.failures:
            print(f"FAILED: {builder.name}: {failure}")
    print()
    goal_rows = [[g, v, "-" if ok is None else ("met" if ok else "NOT met")] for g, v, ok in goals(table)]
    eng.print_table(["goal", "value", "status"], goal_rows, args.markdown)
    print()
    for key, value in {**found, **eng.machine()}.items():
        print(f"{key}: {value}")
    print(f"took {time.time() - started:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "runs": args.runs, "warmup": args.warmup, "cached_repeat": args.cached_repeat, "network": args.network, "dockerfile": DOCKERFILE,
            "table": table, "samples_s": samples, "cached_steps": cached_steps,
            "notes": {b.name: b.notes for b in builders if b.notes},
            "failures": {b.name: b.failures for b in builders if b.failures},
            "goals": [{"goal": g, "value": v, "met": ok} for g, v, ok in goals(table)],
            "versions": found, "machine": eng.machine(),
        }, indent=2) + "\n")
    return 0 if not any(b.failures for b in builders) else 1


if __name__ == "__main__":
    sys.exit(main())
