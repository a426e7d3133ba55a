"""Benchmark: `compose up -d` and `compose down` of a 10-service project.

The same compose file (10 busybox services sleeping, on the project's default network
plus a second network for half of them, half of them with a named volume) is brought up
and down by (columns):

- `estiba`: `estiba compose` -> estibad;
- `compose-estibad`: docker-compose 1.29 (Debian's, a Python client of the Engine API)
  -> estibad;
- `dockerd`: docker-compose 1.29 -> Debian's dockerd 20.10.

Each round runs every engine in turn (the order reversed every other round, the VM being
noisy): `up -d` (timed; then checked: 10 containers running), then `down -v` (timed; then
checked: no container, network or volume of the project left). The daemons are the
private ones of bench/build.py (estibad from a byte-compiled snapshot of src/, dockerd
with a bridge of its own, busybox bootstrapped into estibad and loaded into dockerd);
everything is removed in `finally`. Run as root (a README command, not a test):

    .venv/bin/python bench/compose.py [--runs 5] [--warmup 1] [--services 10]
                                      [--engines estiba,compose-estibad,dockerd] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import engine as eng  # noqa: E402 - bench/engine.py: daemons, snapshot, versions, cleanup
from build import BuildBench  # noqa: E402 - its dockerd gets a bridge of its own
from engine import BenchError, log, sh  # noqa: E402

COMPOSE = shutil.which("docker-compose") or "/usr/bin/docker-compose"
COLUMNS = ("estiba", "compose-estibad", "dockerd")
METRICS = {"up": "compose up -d, {services} services (s)", "down": "compose down -v (s)"}


def compose_file(services: int) -> str:
    lines = ["services:"]
    for index in range(services):
        lines += [
            f"  s{index}:",
            "    image: busybox",
            '    command: ["sleep", "3600"]',
            "    stop_signal: SIGKILL",
            "    environment:",
            f"      INDEX: \"{index}\"",
        ]
        if index % 2:
            lines += ["    networks: [default, back]", "    volumes:", "      - data:/data"]
    lines += ["networks:", "  back: {}", "volumes:", "  data: {}"]
    return "\n".join(lines) + "\n"


class Column:
    """One client -> daemon pair: the compose command line and its environment."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], docker: list[str]) -> None:
        self.name, self.argv, self.env, self.docker = name, argv, env, docker

    def compose(self, project: str, directory: Path, *args: str) -> list[str]:
        return [*self.argv, "-p", project, "-f", str(directory / "compose.yaml"), *args]

    def count(self, *args: str) -> int:
        return len(sh([*self.docker, *args], env=self.env).stdout.split())


def columns(bench: BuildBench, names: list[str]) -> list[Column]:
    made = []
    estiba = bench.engines["estiba"]
    sock = f"unix://{bench.estibad_sock}"
    docker_estibad = [eng.DOCKER, "-H", sock]
    for name in names:
        if name == "estiba":
            made.append(Column(name, [*estiba.cmd("compose")], estiba.env, docker_estibad))
        elif name == "compose-estibad":
            made.append(Column(name, [COMPOSE], dict(estiba.env, DOCKER_HOST=sock), docker_estibad))
        elif name == "dockerd":
            dockerd = bench.engines["dockerd"]
            host = dockerd.argv[dockerd.argv.index("-H") + 1]
            made.append(Column(name, [COMPOSE], dict(dockerd.env, DOCKER_HOST=host), dockerd.argv))
    return made


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    sh(argv, env=env, timeout=300)
    return time.perf_counter() - start


def one_round(column: Column, directory: Path, project: str, services: int) -> dict[str, float]:
    label = f"label=com.docker.compose.project={project}"
    up = timed(column.compose(project, directory, "up", "-d"), column.env)
    running = column.count("ps", "-q", "--filter", label)
    if running != services:
        raise BenchError(f"{column.name}: {running} containers running after up, want {services}")
    down = timed(column.compose(project, directory, "down", "-v"), column.env)
    left = (column.count("ps", "-aq", "--filter", label), column.count("network", "ls", "-q", "--filter", label),
            column.count("volume", "ls", "-q", "--filter", label))
    if any(left):
        raise BenchError(f"{column.name}: down left containers/networks/volumes {left}")
    return {"up": up, "down": down}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--engines", default=",".join(COLUMNS))
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--no-snapshot", action="store_true")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    if not names or set(names) - set(COLUMNS):
        parser.error(f"--engines: choose from {','.join(COLUMNS)}")
    if os.geteuid() != 0:
        print("compose: run as root (the daemons need it)", file=sys.stderr)
        return 1
    if not os.access(COMPOSE, os.X_OK) and set(names) - {"estiba"}:
        print("compose: docker-compose is missing (apt-get install docker-compose)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, eng._terminate)
    bench = BuildBench(["dockerd"] if "dockerd" in names else [])
    samples: dict[str, dict[str, list[float]]] = {m: {n: [] for n in names} for m in METRICS}
    found: dict[str, str] = {}
    try:
        log(f"temporary directory {bench.base}")
        bench.start(snapshot=not args.no_snapshot)
        found = eng.versions(bench)
        found["docker-compose"] = eng.first_line([COMPOSE, "version", "--short"])
        made = columns(bench, names)
        directories = {}
        for column in made:
            directory = bench.base / f"project-{column.name}"
            directory.mkdir()
            (directory / "compose.yaml").write_text(compose_file(args.services))
            directories[column.name] = directory
        for round_ in range(args.warmup + args.runs):
            order = made if round_ % 2 == 0 else list(reversed(made))
            for column in order:
                project = f"bench{round_}{column.name.replace('-', '')}"
                result = one_round(column, directories[column.name], project, args.services)
                if round_ >= args.warmup:
                    for metric, value in result.items():
                        samples[metric][column.name].append(value)
                log(f"  {column.name}: up {result['up']:.2f}s, down {result['down']:.2f}s")
            log(f"round {round_ + 1}/{args.warmup + args.runs}" + (" (warm-up)" if round_ < args.warmup else ""))
    except (BenchError, KeyboardInterrupt) as exc:
        log(f"failed: {exc}")
        return 1
    finally:
        bench.cleanup()
    reference = "dockerd" if "dockerd" in names else names[0]
    table = eng.spread_table(samples, reference)
    print(f"compose benchmark: {args.runs} rounds after {args.warmup} warm-up, {args.services} services, "
          f"median (min-max) seconds, xN = ratio to {reference}'s median")
    header, body = eng.spread_rows(table, names, METRICS, reference=reference, labels={"services": args.services})
    eng.print_table(header, body, args.markdown)
    print()
    for key, value in {**found, **eng.machine()}.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
