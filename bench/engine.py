"""Benchmark: the engine against dockerd and podman, with the same busybox image.

Engines (columns), alternating run by run so that all see the same machine state:

- `estiba`: our CLI (`estiba`) -> our daemon (`estibad`);
- `docker-estibad`: the docker CLI (/usr/local/bin/docker) -> estibad;
- `dockerd`: the docker CLI -> dockerd (Debian's docker.io, with its own containerd);
- `podman`: podman with runc, no daemon (conmon per container).

The bench starts its own estibad and dockerd in a temporary directory (private data and
exec roots, sockets and pid files) and gives podman a private --root/--runroot/--tmpdir.
busybox is bootstrapped into estibad (`estiba image bootstrap busybox`) and copied into
the others with `estiba image save busybox | docker load` / `podman load`, so all run the
same rootfs. Metrics (rows):

1. `run --rm --network none busybox true`, and `run --rm busybox true` with each engine's
   default network (estibad: a private netns with only lo; dockerd: the docker0 bridge
   and a veth pair, started with --iptables=false; podman: netavark's bridge);
2. `exec <c> true` in a running `sleep` container;
3. N (100) detached `run -d busybox sleep 3600` per engine, one after another (the
   engines taking turns container by container): the sum of their start times;
4. memory per running container with M (20) sleep containers: PSS (and RSS) of the
   per-container helpers (estiba-shim, containerd-shim, conmon) plus the growth of the
   daemon's own processes (estibad and its fork server; dockerd and containerd), over M.

Everything is cleaned up in `finally`: containers, daemons, leftover mounts under the
temporary directory, the bridges and iptables rules that were not there before. Run as
root (a README command, not a test):

    .venv/bin/python bench/engine.py [--runs 20] [--engines estiba,docker-estibad,dockerd,podman]
                                     [--skip-slow] [--json FILE] [--markdown]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
ESTIBA = VENV_BIN / "estiba"
ESTIBAD = VENV_BIN / "estibad"
DOCKER = "/usr/local/bin/docker"
ENGINES = ("estiba", "docker-estibad", "dockerd", "podman")
REFERENCE = "dockerd"
WARMUP_RUNS = 2
TIMEOUT = 60.0
PODMAN_RUN_FLAGS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
# What `podman load` and the netavark backend create outside of --root/--runroot/--tmpdir.
PODMAN_HOST_PATHS = ("/run/containers", "/var/lib/containers", "/etc/containers/networks")
BRIDGES = ("docker0", "podman0")

METRICS = {
    "run_none": "run --rm --network none busybox true (ms)",
    "run_default": "run --rm busybox true, default network (ms)",
    "exec": "exec <running sleep> true (ms)",
    "bulk_total": "{bulk} x run -d busybox sleep 3600, total (s)",
    "bulk_per": "  per container (ms)",
    "bulk_rm": "  rm -f of those {bulk}, total (s)",
    "mem_pss": "memory per running container, PSS (KiB)",
    "mem_helper_pss": "  helper PSS per container (KiB)",
    "mem_daemon_pss": "  daemon PSS change per container (KiB)",
    "mem_rss": "  helper RSS per container (KiB)",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def sh(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = TIMEOUT,
       check: bool = True, stdin=subprocess.DEVNULL, input: bytes | None = None) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(argv, env=env, timeout=timeout, capture_output=True,
                              stdin=None if input is not None else stdin, input=input)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"timed out after {timeout:.0f}s: {shlex.join(argv)}") from exc
    if check and done.returncode != 0:
        raise BenchError(f"{shlex.join(argv)} exited {done.returncode}: "
                         f"{done.stderr.decode(errors='replace').strip()[-2000:]}")
    return done


def p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


# ---- processes and memory -------------------------------------------------------------


def read_text(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def parent_map() -> dict[int, int]:
    parents = {}
    for pid in all_pids():
        stat = read_text(f"/proc/{pid}/stat")
        if stat:
            parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(root: int, parents: dict[int, int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def pss_rss_kib(pid: int) -> tuple[int, int]:
    pss = rss = 0
    for line in read_text(f"/proc/{pid}/smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            pss = int(line.split()[1])
        elif line.startswith("Rss:"):
            rss = int(line.split()[1])
    return pss, rss


def comm(pid: int) -> str:
    return read_text(f"/proc/{pid}/comm").strip()


def cmdline(pid: int) -> str:
    return read_text(f"/proc/{pid}/cmdline").replace("\0", " ")


# ---- engines --------------------------------------------------------------------------


@dataclass
class Engine:
    """One client -> server pair: how to call it and which processes are its own."""

    name: str
    argv: list[str]
    env: dict[str, str]
    net_none: list[str]
    run_flags: list[str]
    default_network: str
    none_note: str = ""
    daemon_pid: int | None = None
    helper_match: object = None  # pid -> bool
    failures: dict[str, str] = field(default_factory=dict)
    rm_flags: list[str] = field(default_factory=list)

    def cmd(self, *args: str) -> list[str]:
        return [*self.argv, *args]

    def run_cmd(self, network: bool, *args: str) -> list[str]:
        return self.cmd("run", *self.run_flags, *([] if network else self.net_none), *args)

    def call(self, *args: str, timeout: float = TIMEOUT, input: bytes | None = None) -> str:
        return sh(self.cmd(*args), env=self.env, timeout=timeout, input=input).stdout.decode().strip()

    def timed(self, argv: list[str]) -> float:
        start = time.perf_counter()
        sh(argv, env=self.env)
        return (time.perf_counter() - start) * 1000

    def rm(self, *ids: str) -> list[str]:
        return self.cmd("rm", "-f", *self.rm_flags, *ids)

    def container_ids(self) -> list[str]:
        return self.call("ps", "-aq").split()

    def remove_all(self) -> None:
        ids = self.container_ids()
        for index in range(0, len(ids), 50):
            sh(self.rm(*ids[index:index + 50]), env=self.env, timeout=300, check=False)

    def helpers(self) -> list[int]:
        return [pid for pid in all_pids() if self.helper_match(pid)]

    def daemon_pids(self, exclude: set[int]) -> set[int]:
        if self.daemon_pid is None:
            return set()
        parents = parent_map()
        return ({self.daemon_pid} | descendants(self.daemon_pid, parents)) - exclude


class Bench:
    """The temporary directory, the daemons and the host state to restore."""

    def __init__(self, engines: list[str]) -> None:
        self.names = engines
        self.base = Path(tempfile.mkdtemp(prefix="eb-", dir="/tmp"))
        self.processes: list[subprocess.Popen] = []
        self.engines: dict[str, Engine] = {}
        self.started: list[Engine] = []
        self.host_before = self._host_state()
        self.notes: list[str] = []

    # -- host state that dockerd and podman change outside the temp dir --

    @staticmethod
    def _host_state() -> dict:
        state = {
            "bridges": {b for b in BRIDGES if os.path.exists(f"/sys/class/net/{b}")},
            "paths": {p for p in PODMAN_HOST_PATHS if os.path.exists(p)},
            "netns": set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set(),
            "ip_forward": read_text("/proc/sys/net/ipv4/ip_forward").strip(),
            "iptables": {},
        }
        if shutil.which("iptables-save"):
            for table in ("filter", "nat"):
                out = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True)
                state["iptables"][table] = out.stdout.splitlines() if out.returncode == 0 else []
        return state

    def _restore_host(self) -> None:
        before = self.host_before
        for bridge in BRIDGES:
            if bridge not in before["bridges"] and os.path.exists(f"/sys/class/net/{bridge}"):
                subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        for table, lines_before in before["iptables"].items():
            out = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True)
            old = set(lines_before)
            new_rules = [l for l in out.stdout.splitlines() if l.startswith("-A ") and l not in old]
            for rule in new_rules:
                if "NETAVARK" in rule or "DOCKER" in rule or "CNI" in rule:
                    spec = shlex.split(rule)[1:]
                    subprocess.run(["iptables", "-t", table, "-D", *spec], capture_output=True)
            new_chains = [l[1:].split()[0] for l in out.stdout.splitlines()
                          if l.startswith(":") and l not in old and l.split()[0] not in {o.split()[0] for o in old}]
            for chain in new_chains:
                if "NETAVARK" in chain or "DOCKER" in chain or "CNI" in chain:
                    subprocess.run(["iptables", "-t", table, "-F", chain], capture_output=True)
            for chain in new_chains:
                if "NETAVARK" in chain or "DOCKER" in chain or "CNI" in chain:
                    subprocess.run(["iptables", "-t", table, "-X", chain], capture_output=True)
        if before["ip_forward"] and read_text("/proc/sys/net/ipv4/ip_forward").strip() != before["ip_forward"]:
            with contextlib.suppress(OSError), open("/proc/sys/net/ipv4/ip_forward", "w") as f:
                f.write(before["ip_forward"])
        for path in PODMAN_HOST_PATHS:
            if path not in before["paths"] and os.path.exists(path):
                shutil.rmtree(path, ignore_errors=True)
        if os.path.isdir("/run/netns"):
            left = sorted(set(os.listdir("/run/netns")) - before["netns"])
            if left:
                log(f"warning: network namespaces left in /run/netns: {left}")

    # -- daemons --

    def _spawn(self, argv: list[str], logname: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        out = open(self.base / logname, "wb")
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   env=env, start_new_session=True)
        out.close()
        self.processes.append(process)
        return process

    def _wait_ready(self, engine: Engine, process: subprocess.Popen, logname: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"{engine.name}'s daemon exited {process.returncode}: "
                                 f"{read_text(str(self.base / logname))[-2000:]}")
            if sh(engine.cmd("version"), env=engine.env, check=False, timeout=10).returncode == 0:
                return
            time.sleep(0.2)
        raise BenchError(f"{engine.name}'s daemon did not answer within 60s")

    def snapshot_source(self) -> Path:
        """Copy src/estiba and byte-compile it, so that edits made to the tree while the bench
        runs (other people work in it) cannot change what is measured half way."""
        src = self.base / "src"
        shutil.copytree(REPO / "src" / "estiba", src / "estiba", ignore=shutil.ignore_patterns("__pycache__"))
        sh([sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "checked-hash", str(src)], timeout=300)
        sh([sys.executable, "-c", "import estiba.daemon.main, estiba.cli.main, estiba.shim.forkserver"],
           env=dict(os.environ, PYTHONPATH=str(src)))
        return src

    def start(self, snapshot: bool = True) -> None:
        env = dict(os.environ, ESTIBA_NO_AUTOSTART="1", DOCKER_CONFIG=str(self.base / "docker-config"))
        if snapshot:
            env["PYTHONPATH"] = str(self.snapshot_source())
        env.pop("DOCKER_HOST", None)
        env.pop("ESTIBA_HOST", None)
        # estibad is needed whatever the engines: the image comes from it.
        es = self.base / "es"
        self.estibad_sock = es / "s.sock"
        self.estiba_exec_root = es / "exec"
        es.mkdir()
        argv = [str(ESTIBAD), "--data-root", str(es / "data"), "--exec-root", str(es / "exec"),
                "-H", f"unix://{self.estibad_sock}", "-l", os.environ.get("BENCH_ESTIBAD_LOG_LEVEL", "info")]
        process = self._spawn(argv, "estibad.log", env)
        exec_root = str(self.estiba_exec_root)

        def estiba_shim(pid: int) -> bool:
            if comm(pid) != "estiba-shim":
                return False
            with contextlib.suppress(OSError):
                return os.readlink(f"/proc/{pid}/fd/1").startswith(exec_root + "/")
            return False

        host = ["-H", f"unix://{self.estibad_sock}"]
        has_network = b"--network" in sh([str(ESTIBA), "run", "--help"], env=env, check=False).stdout
        estiba = Engine("estiba", [str(ESTIBA), *host], env, ["--network", "none"] if has_network else [], [],
                        "bridge (estiba-<hex>) + veth + nftables",
                        "" if has_network else "estiba CLI has no --network: same as its default (netns, lo only)",
                        process.pid, estiba_shim)
        self._wait_ready(estiba, process, "estibad.log")
        log("estibad ready; bootstrapping busybox")
        estiba.call("image", "bootstrap", "busybox", timeout=300)
        self.engines["estiba"] = estiba
        self.engines["docker-estibad"] = Engine(
            "docker-estibad", [DOCKER, *host], env, ["--network", "none"], [],
            "bridge (estiba-<hex>) + veth + nftables", "", process.pid, estiba_shim)
        if "dockerd" in self.names:
            dk = self.base / "dk"
            dk.mkdir()
            sock = dk / "d.sock"
            argv = ["dockerd", "--data-root", str(dk / "data"), "--exec-root", str(dk / "exec"),
                    "--pidfile", str(dk / "dockerd.pid"), "-H", f"unix://{sock}",
                    "--iptables=false", "--ip-masq=false"]
            process = self._spawn(argv, "dockerd.log")
            address = str(dk / "exec")

            def containerd_shim(pid: int) -> bool:
                return comm(pid).startswith("containerd-shim") and address in cmdline(pid)

            dockerd = Engine("dockerd", [DOCKER, "-H", f"unix://{sock}"], env, ["--network", "none"], [],
                             "bridge docker0 + veth (--iptables=false)", "", process.pid, containerd_shim)
            self._wait_ready(dockerd, process, "dockerd.log")
            self._load(dockerd, [DOCKER, "-H", f"unix://{sock}", "load"])
            self.engines["dockerd"] = dockerd
        if "podman" in self.names:
            pd = self.base / "pd"
            pd.mkdir()
            argv = ["podman", "--root", str(pd / "root"), "--runroot", str(pd / "run"), "--tmpdir", str(pd / "tmp"),
                    "--network-config-dir", str(pd / "net"), "--cgroup-manager=cgroupfs", "--runtime", "runc",
                    "--events-backend=file"]
            base = str(pd)

            def conmon(pid: int) -> bool:
                return comm(pid) == "conmon" and base in cmdline(pid)

            podman_env = {k: v for k, v in env.items() if k != "DOCKER_CONFIG"}  # podman reads its auth there
            podman = Engine("podman", argv, podman_env, ["--network", "none"], PODMAN_RUN_FLAGS,
                            "netavark bridge podman0 + veth + iptables", "", None, conmon, rm_flags=["-t", "0"])
            self._load(podman, [*argv, "load"])
            self.engines["podman"] = podman
        self.started = [self.engines[name] for name in ENGINES if name in self.names]

    def _load(self, engine: Engine, load_argv: list[str]) -> None:
        saved = self.base / "busybox.tar"
        if not saved.exists():
            with open(saved, "wb") as out:
                done = subprocess.run([str(ESTIBA), "-H", f"unix://{self.estibad_sock}", "save", "busybox"],
                                      stdout=out, stderr=subprocess.PIPE, env=self.engines["estiba"].env,
                                      timeout=120)
            if done.returncode != 0:
                saved.unlink()
                raise BenchError(f"estiba save busybox failed: {done.stderr.decode(errors='replace')}")
        with open(saved, "rb") as tar:
            done = subprocess.run(load_argv, stdin=tar, capture_output=True, env=engine.env, timeout=120)
        if done.returncode == 0:
            return
        log(f"{engine.name}: load failed ({done.stderr.decode(errors='replace').strip()}); importing a rootfs tar")
        self._import(engine)

    def _import(self, engine: Engine) -> None:
        sys.path.insert(0, str(REPO / "src"))
        from estiba.images import busybox_rootfs

        rootfs = self.base / "import-rootfs"
        if not rootfs.exists():
            busybox_rootfs(rootfs)
        tar = self.base / "import.tar"
        sh(["tar", "-C", str(rootfs), "-cf", str(tar), "."])
        sh(engine.cmd("import", str(tar), "busybox:latest"), env=engine.env, timeout=120)

    # -- teardown --

    def cleanup(self) -> None:
        for engine in self.started:
            try:
                engine.remove_all()
            except Exception as exc:  # noqa: BLE001 - go on cleaning
                log(f"cleanup: {engine.name}: {exc}")
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for engine in self.engines.values():
            if engine.helper_match is None:
                continue
            for pid in engine.helpers():
                log(f"cleanup: killing leftover {comm(pid)} {pid}")
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        self._unmount()
        self._restore_host()
        shutil.rmtree(self.base, ignore_errors=True)

    def _unmount(self) -> None:
        prefix = str(self.base) + "/"
        for _ in range(3):
            points = []
            for line in read_text("/proc/self/mountinfo").splitlines():
                point = line.split()[4].replace("\\040", " ")
                if point.startswith(prefix):
                    points.append(point)
            if not points:
                return
            for point in reversed(points):
                subprocess.run(["umount", "-l", point], capture_output=True)


# ---- measurements ---------------------------------------------------------------------


def measure_latency(engines: list[Engine], runs: int) -> dict[str, dict[str, list[float]]]:
    """run --rm (no network, default network) and exec, per engine: warm up, then in each
    round every (metric, engine) pair once, the order reversed every other round, so that
    all rows see the same machine state (this VM is noisy)."""
    targets: dict[str, str] = {}
    for engine in engines:
        try:
            targets[engine.name] = engine.call(*engine.run_cmd(False, "-d", "busybox", "sleep", "3600")[
                len(engine.argv):])
        except BenchError as exc:
            engine.failures["exec"] = f"starting the sleep container: {exc}"
            log(f"{engine.name}: exec target failed: {exc}")
    argv_of = {
        "run_none": lambda e: e.run_cmd(False, "--rm", "busybox", "true"),
        "run_default": lambda e: e.run_cmd(True, "--rm", "busybox", "true"),
        "exec": lambda e: e.cmd("exec", targets[e.name], "true"),
    }
    tasks = [(metric, engine) for metric in argv_of for engine in engines if metric not in engine.failures]
    samples: dict[str, dict[str, list[float]]] = {metric: {} for metric in argv_of}
    try:
        for metric, engine in list(tasks):
            try:
                for _ in range(WARMUP_RUNS):
                    engine.timed(argv_of[metric](engine))
            except BenchError as exc:
                engine.failures[metric] = str(exc)
                log(f"{engine.name}: {metric} failed: {exc}")
        for index in range(runs):
            order = tasks if index % 2 == 0 else list(reversed(tasks))
            for metric, engine in order:
                if metric in engine.failures:
                    continue
                try:
                    value = engine.timed(argv_of[metric](engine))
                except BenchError as exc:
                    engine.failures[metric] = str(exc)
                    log(f"{engine.name}: {metric} failed: {exc}")
                    continue
                samples[metric].setdefault(engine.name, []).append(value)
            if index % 5 == 4:
                log(f"round {index + 1}/{runs}")
    finally:
        for engine in engines:
            if engine.name in targets:
                sh(engine.rm(targets[engine.name]), env=engine.env, check=False)
    return samples


def measure_bulk(engines: list[Engine], count: int) -> dict[str, dict[str, float]]:
    """`count` detached sleep containers per engine, started one after another; the
    engines take turns container by container, so the total is the sum of each engine's
    own start times. Then each engine removes its own with `rm -f` (timed)."""
    ids: dict[str, list[str]] = {e.name: [] for e in engines}
    spent: dict[str, float] = {e.name: 0.0 for e in engines}
    live = [e for e in engines]
    results: dict[str, dict[str, float]] = {}
    try:
        for index in range(count):
            for engine in (live if index % 2 == 0 else list(reversed(live))):
                start = time.perf_counter()
                try:
                    ids[engine.name].append(
                        engine.call(*engine.run_cmd(True, "-d", "busybox", "sleep", "3600")[len(engine.argv):]))
                except BenchError as exc:
                    engine.failures["bulk"] = f"after {len(ids[engine.name])} containers: {exc}"
                    log(f"{engine.name}: bulk failed: {engine.failures['bulk']}")
                    live.remove(engine)
                    continue
                spent[engine.name] += time.perf_counter() - start
            if index % 25 == 24:
                log(f"{index + 1}/{count} containers each")
        for engine in live:
            start = time.perf_counter()
            mine = ids[engine.name]
            for batch in range(0, len(mine), 50):
                sh(engine.rm(*mine[batch:batch + 50]), env=engine.env, timeout=600)
            removed = time.perf_counter() - start
            ids[engine.name] = []
            total = spent[engine.name]
            results[engine.name] = {"bulk_total": total, "bulk_per": total * 1000 / count, "bulk_rm": removed}
    except BenchError as exc:
        log(f"bulk: {exc}")
    finally:
        for engine in engines:
            mine = ids[engine.name]
            for batch in range(0, len(mine), 50):
                sh(engine.rm(*mine[batch:batch + 50]), env=engine.env, timeout=600, check=False)
    return results


def memory_snapshot(engine: Engine) -> tuple[list[int], int, int, int]:
    helpers = engine.helpers()
    exclude = set(helpers)
    parents = parent_map()
    for pid in helpers:
        exclude |= descendants(pid, parents)
    helper_pss = helper_rss = 0
    for pid in helpers:
        pss, rss = pss_rss_kib(pid)
        helper_pss += pss
        helper_rss += rss
    daemon_pss = sum(pss_rss_kib(pid)[0] for pid in engine.daemon_pids(exclude))
    return helpers, helper_pss, helper_rss, daemon_pss


def measure_memory(engines: list[Engine], count: int, settle: float = 2.0) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for engine in engines:
        ids: list[str] = []
        try:
            time.sleep(settle)
            before_helpers, _, _, daemon_before = memory_snapshot(engine)
            if before_helpers:
                raise BenchError(f"{len(before_helpers)} helpers already running")
            for _ in range(count):
                ids.append(engine.call(*engine.run_cmd(True, "-d", "busybox", "sleep", "3600")[len(engine.argv):]))
            time.sleep(settle)
            helpers, helper_pss, helper_rss, daemon_after = memory_snapshot(engine)
            if len(helpers) != count:
                log(f"{engine.name}: expected {count} helpers, found {len(helpers)}")
            growth = daemon_after - daemon_before
            results[engine.name] = {
                "mem_pss": (helper_pss + growth) / count,
                "mem_helper_pss": helper_pss / count,
                "mem_daemon_pss": growth / count,
                "mem_rss": helper_rss / count,
                "helpers": len(helpers),
                "daemon_pss_before": daemon_before,
                "daemon_pss_after": daemon_after,
            }
        except BenchError as exc:
            engine.failures["memory"] = str(exc)
            log(f"{engine.name}: memory failed: {exc}")
        finally:
            if ids:
                sh(engine.rm(*ids), env=engine.env, timeout=600, check=False)
    return results


# ---- report ---------------------------------------------------------------------------


def first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def versions(bench: Bench) -> dict[str, str]:
    found = {}
    if "estiba" in bench.engines:
        text = sh(bench.engines["estiba"].cmd("version"), env=bench.engines["estiba"].env, check=False).stdout.decode()
        values = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("Version:")]
        found["estiba"] = f"client {values[0]}, server {values[1]}" if len(values) >= 2 else text.strip()
    found["docker CLI"] = first_line([DOCKER, "--version"])
    found["dockerd"] = first_line(["dockerd", "--version"])
    found["containerd"] = first_line(["containerd", "--version"])
    found["podman"] = first_line(["podman", "--version"])
    found["conmon"] = first_line(["conmon", "--version"])
    found["runc"] = first_line(["runc", "--version"])
    found["python"] = platform.python_version()
    return found


def machine() -> dict[str, str]:
    model = next((line.split(":", 1)[1].strip() for line in read_text("/proc/cpuinfo").splitlines()
                  if line.startswith("model name")), "unknown")
    return {"nproc": str(os.cpu_count()), "cpu": model, "kernel": platform.release(),
            "os": first_line(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"])}


def summarize(latency: dict[str, dict[str, list[float]]], bulk: dict, memory: dict,
              engines: list[Engine]) -> dict[str, dict[str, dict[str, float]]]:
    """metric -> engine -> {median, p90, n, ratio}."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for metric, per_engine in latency.items():
        table[metric] = {name: {"median": statistics.median(v), "p90": p90(v), "n": len(v)}
                         for name, v in per_engine.items()}
    for key in ("bulk_total", "bulk_per", "bulk_rm"):
        if bulk:
            table[key] = {name: {"median": r[key], "n": 1} for name, r in bulk.items()}
    for key in ("mem_pss", "mem_helper_pss", "mem_daemon_pss", "mem_rss"):
        if memory:
            table[key] = {name: {"median": r[key], "n": 1} for name, r in memory.items()}
    for per_engine in table.values():
        reference = per_engine.get(REFERENCE, {}).get("median")
        for cell in per_engine.values():
            cell["ratio"] = cell["median"] / reference if reference else None
    return table


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def rows(table: dict, names: list[str], bulk: int) -> tuple[list[str], list[list[str]]]:
    header = ["metric", *names]
    body = []
    for metric, label in METRICS.items():
        if metric not in table:
            continue
        cells = []
        for name in names:
            cell = table[metric].get(name)
            if cell is None:
                cells.append("failed/skipped")
                continue
            digits = 2 if metric in ("bulk_total", "bulk_rm") else (0 if metric.startswith("mem") else 1)
            text = fmt(cell["median"], digits)
            if "p90" in cell:
                text += f" (p90 {fmt(cell['p90'], digits)})"
            if cell.get("ratio") is not None and name != REFERENCE and metric != "mem_daemon_pss":
                text += f" x{cell['ratio']:.2f}"
            cells.append(text)
        body.append([label.format(bulk=bulk), *cells])
    return header, body


def print_table(header: list[str], body: list[list[str]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in body:
            print("| " + " | ".join(cell.strip() for cell in row) + " |")
        return
    widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header))]
    for row in (header, *body):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def goals(table: dict) -> list[tuple[str, str, bool | None]]:
    def med(metric: str, name: str) -> float | None:
        return table.get(metric, {}).get(name, {}).get("median")

    out: list[tuple[str, str, bool | None]] = []
    for metric in ("run_none", "run_default"):
        value = med(metric, "estiba")
        out.append((f"estiba run --rm median <= 60 ms ({metric})",
                    "-" if value is None else f"{value:.1f} ms", None if value is None else value <= 60))
    for metric, bound, text in (("run_none", 1 / 3, "<= 1/3"), ("run_default", 1 / 3, "<= 1/3"),
                                ("exec", 1 / 2, "<= 1/2")):
        ours, theirs = med(metric, "docker-estibad"), med(metric, "dockerd")
        ok = None if ours is None or theirs is None else ours <= bound * theirs
        shown = "-" if ok is None else f"{ours:.1f} / {theirs:.1f} ms = {ours / theirs:.2f}"
        out.append((f"docker CLI->estibad {metric} {text} of docker CLI->dockerd", shown, ok))
    for name in ("estiba", "docker-estibad"):
        value = med("mem_pss", name)
        out.append((f"PSS per running container <= 1 MiB ({name})",
                    "-" if value is None else f"{value:.0f} KiB", None if value is None else value <= 1024))
    return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="measured runs per engine and metric (default 20)")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"comma-separated subset of {','.join(ENGINES)} (default: all)")
    parser.add_argument("--skip-slow", action="store_true", help="skip the bulk-start and memory metrics")
    parser.add_argument("--bulk", type=int, default=100, help="containers in the bulk-start metric (default 100)")
    parser.add_argument("--mem-containers", type=int, default=20, help="containers for memory (default 20)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--no-snapshot", action="store_true",
                        help="run estiba from the work tree, not from a byte-compiled copy made at start")
    args = parser.parse_args(argv)
    args.engines = engine_names(parser, args.engines)
    if args.runs < 1 or args.bulk < 1 or args.mem_containers < 1:
        parser.error("--runs, --bulk and --mem-containers must be at least 1")
    return args


def engine_names(parser: argparse.ArgumentParser, text: str, known: Sequence[str] = ENGINES) -> list[str]:
    """--engines as a list, refused (parser.error) when empty or naming an engine not in
    `known` (this bench's columns)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(known))
    if unknown or not names:
        parser.error(f"unknown engine(s) {unknown}; choose from {','.join(known)}")
    return names


def spread_table(samples: dict[str, dict[str, list[float]]], reference: str = REFERENCE
                 ) -> dict[str, dict[str, dict[str, float]]]:
    """metric -> engine -> median, min, max, n and the ratio to `reference`'s median, from
    metric -> engine -> samples (what spread_rows lays out)."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for metric, per_engine in samples.items():
        table[metric] = {name: {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}
                         for name, v in per_engine.items() if v}
        base = table[metric].get(reference, {}).get("median")
        for cell in table[metric].values():
            cell["ratio"] = cell["median"] / base if base else None
    return table


def spread_rows(table: dict, names: list[str], metrics: dict[str, str], reference: str = REFERENCE,
                labels: dict | None = None) -> tuple[list[str], list[list[str]]]:
    """Table rows of `median (min-max) xratio` cells, one per metric (label formatted with
    `labels`), one column per engine; a missing cell says failed/skipped."""
    body = []
    for metric, label in metrics.items():
        cells = []
        for name in names:
            cell = table.get(metric, {}).get(name)
            if cell is None:
                cells.append("failed/skipped")
                continue
            text = f"{cell['median']:.2f} ({cell['min']:.2f}-{cell['max']:.2f})"
            if cell.get("ratio") is not None and name != reference:
                text += f" x{cell['ratio']:.2f}"
            cells.append(text)
        body.append([label.format(**(labels or {})), *cells])
    return ["metric", *names], body


def _terminate(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("engine: run as root (the daemons need it)", file=sys.stderr)
        return 1
    wanted = set(args.engines)
    tools = ((str(ESTIBAD), True), (DOCKER, bool({"docker-estibad", "dockerd"} & wanted)),
             ("dockerd", "dockerd" in wanted), ("podman", "podman" in wanted), ("runc", "podman" in wanted))
    missing = [tool for tool, needed in tools if needed and not shutil.which(tool)]
    if missing:
        print(f"engine: missing {', '.join(missing)} (scripts/setup.sh; apt-get install docker.io podman runc)",
              file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _terminate)
    bench = Bench(args.engines)
    started = time.time()
    try:
        log(f"temporary directory {bench.base}")
        bench.start(snapshot=not args.no_snapshot)
        engines = bench.started
        found = versions(bench)
        log("latency: run --rm --network none, run --rm, exec")
        latency = measure_latency(engines, args.runs)
        bulk = memory = {}
        if not args.skip_slow:
            log(f"{args.bulk} detached containers per engine")
            bulk = measure_bulk(engines, args.bulk)
            log("memory")
            memory = measure_memory(engines, args.mem_containers)
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        return 130
    except BenchError as exc:
        log(f"failed: {exc}")
        return 1
    finally:
        bench.cleanup()
    table = summarize(latency, bulk, memory, engines)
    names = [e.name for e in engines]
    header, body = rows(table, names, args.bulk)
    print(f"engine benchmark: {args.runs} runs, medians (p90), xN = ratio to {REFERENCE}'s median")
    print_table(header, body, args.markdown)
    print()
    print("default network: " + "; ".join(f"{e.name}: {e.default_network}" for e in engines))
    for engine in engines:
        if engine.none_note:
            print(f"note: {engine.name}: {engine.none_note}")
        for metric, error in engine.failures.items():
            print(f"FAILED: {engine.name} {metric}: {error}")
    print()
    goal_rows = [[goal, value, "-" if ok is None else ("met" if ok else "NOT met")] for goal, value, ok in goals(table)]
    print_table(["goal", "value", "status"], goal_rows, args.markdown)
    print()
    for key, value in {**found, **machine()}.items():
        print(f"{key}: {value}")
    print(f"took {time.time() - started:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "runs": args.runs, "bulk": args.bulk, "mem_containers": args.mem_containers,
            "table": table, "memory": memory,
            "default_network": {e.name: e.default_network for e in engines},
            "notes": {e.name: e.none_note for e in engines if e.none_note},
            "failures": {e.name: e.failures for e in engines if e.failures},
            "goals": [{"goal": g, "value": v, "met": ok} for g, v, ok in goals(table)],
            "versions": found, "machine": machine(),
            "samples_ms": latency,
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
