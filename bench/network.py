"""Benchmark: download throughput through a published port, against plain loopback.

A busybox `httpd` serves a 100 MB random file from a container published on
127.0.0.1:<host port> (`run -d -p 127.0.0.1::8080`), and curl on the host downloads it:

- `loopback`: the same busybox httpd serving the same file on the host itself, no
  container (the figure to reach: a kernel path costs little over it);
- `estiba`: estibad's DNAT in nftables (no proxy process);
- `dockerd`: Debian's dockerd 20.10, started by bench/engine.py with `--iptables=false`,
  so 127.0.0.1 goes through its userland docker-proxy;
- `podman`: podman 4.3 with netavark's iptables DNAT.

The daemons are bench/engine.py's private ones (estibad from a snapshot of src/; dockerd
on a bridge of its own, as bench/build.py gives it). Each round downloads once per source,
in turn; medians of MB/s, ratios to loopback and to dockerd, and the median of each
round's own ratio to that round's loopback download (robust to the drift of the machine's
speed between rounds). Run as root:

    .venv/bin/python bench/network.py [--runs 7] [--size-mb 100] [--engines estiba,dockerd,podman]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import engine as eng  # noqa: E402 - bench/engine.py: daemons, snapshot, versions, cleanup
from build import BuildBench  # noqa: E402 - its dockerd gets a bridge of its own
from engine import BenchError, log, sh  # noqa: E402

SERVE = "mkdir -p /www && head -c {size} /dev/urandom > /www/big && exec httpd -f -p 8080 -h /www"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def download(url: str, size: int, timeout: float = 120) -> float:
    """MB/s of one download of `url` (which must be `size` bytes)."""
    result = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", url],
        capture_output=True, text=True, timeout=timeout, check=True,
    )
    got, seconds = result.stdout.split()
    if int(float(got)) != size:
        raise BenchError(f"{url}: {got} bytes, want {size}")
    return size / float(seconds) / 1e6


def wait_for(url: str, size: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            download(url, size, timeout=30)
            return
        except (subprocess.CalledProcessError, BenchError, subprocess.TimeoutExpired):
            if time.monotonic() > deadline:
                raise BenchError(f"{url} did not serve the file within {timeout:.0f}s") from None
            time.sleep(0.5)


def published_port(engine: eng.Engine, container: str) -> int:
    text = engine.call("port", container, "8080/tcp")
    return int(text.splitlines()[0].rsplit(":", 1)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--engines", default="estiba,dockerd,podman")
    parser.add_argument("--no-snapshot", action="store_true")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("network: run as root (the daemons need it)", file=sys.stderr)
        return 1
    for tool in ("curl", "busybox"):
        if not shutil.which(tool):
            print(f"network: {tool} is missing (apt-get install {tool})", file=sys.stderr)
            return 1
    size = args.size_mb << 20
    bench = BuildBench([e for e in args.engines.split(",") if e])
    sources: dict[str, str] = {}
    server = None
    samples: dict[str, list[float]] = {}
    try:
        log(f"temporary directory {bench.base}")
        bench.start(snapshot=not args.no_snapshot)
        found = eng.versions(bench)
        www = bench.base / "www"
        www.mkdir()
        with open(www / "big", "wb") as handle:
            handle.write(os.urandom(size))
        port = free_port()
        server = subprocess.Popen(["busybox", "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", str(www)])
        sources["loopback"] = f"http://127.0.0.1:{port}/big"
        for engine in bench.started:
            name = f"net-bench-{engine.name}"
            run = engine.run_cmd(True, "-d", "--name", name, "-p", "127.0.0.1::8080", "busybox", "sh", "-c",
                                 SERVE.format(size=size))
            sh(run, env=engine.env, timeout=120)
            sources[engine.name] = f"http://127.0.0.1:{published_port(engine, name)}/big"
        for source, url in sources.items():
            wait_for(url, size)
            log(f"{source}: {url}")
        samples = {source: [] for source in sources}
        for round_ in range(args.runs):
            order = list(sources) if round_ % 2 == 0 else list(reversed(sources))
            for source in order:
                samples[source].append(download(sources[source], size))
            log(f"round {round_ + 1}/{args.runs}")
    except BenchError as exc:
        log(f"failed: {exc}")
        return 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        for engine in bench.started:
            sh(engine.cmd("rm", "-f", f"net-bench-{engine.name}"), env=engine.env, check=False, timeout=60)
        bench.cleanup()
    medians = {source: statistics.median(values) for source, values in samples.items()}
    loopback = medians["loopback"]
    docker = medians.get("dockerd")
    # The machine's speed drifts between rounds (loopback itself moves by a fifth), so the
    # ratio that answers "how close to loopback" is taken within each round, where the two
    # downloads ran back to back, and its median reported beside the ratio of medians.
    paired = {source: statistics.median(v / l for v, l in zip(values, samples["loopback"]))
              for source, values in samples.items()}
    print(f"published-port download of {args.size_mb} MB from 127.0.0.1, {args.runs} rounds, median MB/s")
    print("| source | MB/s | of loopback (medians) | of loopback (median of per-round ratios) | vs dockerd |")
    print("|---|---|---|---|---|")
    for source, value in medians.items():
        versus = f"x{value / docker:.2f}" if docker else "-"
        print(f"| {source} | {value:.0f} | {value / loopback:.0%} | {paired[source]:.0%} | {versus} |")
    for key, value in found.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
