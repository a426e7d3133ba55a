"""Benchmark: registry push and pull, estiba against dockerd, podman and skopeo.

Two image shapes, made anew from random data for every engine in every round (so no
engine can skip an upload or a download because it, or another engine, moved the same
blob before: podman and skopeo, for one, share a blob-info cache in /var/lib/containers
and would mount each other's blobs instead of uploading):

- `big`: busybox (as `estiba image bootstrap busybox` makes it) plus one layer holding a
  100 MB random file;
- `ten`: ten layers of ~5 MB of random data each, no base.

Both are docker-archive tars assembled here in Python (manifest.json, config, layer tars,
Docker 20.10's `save` layout) and loaded into each engine with its own `load -i` (estiba,
docker, podman); skopeo reads them directly (`docker-archive:`). One CNCF registry
(`docker-registry serve`, Debian's distribution 2.8) listens on 127.0.0.1:<free port>,
storage in the temporary directory. In each round, for each image shape and each engine
in turn (the order reversed every other round): skopeo pushes a gzip reference image of
that shape for the engine (`r<round>/gz-<engine>-<shape>`, untimed); the engine loads its
own archive, tags it `r<round>/<engine>-<shape>:latest`, pushes it (timed), removes every
local tag, pulls it back (timed, "pull of that push"), removes it, pulls the gzip
reference (timed: the same kind of image for everybody) and removes it. skopeo "pulls"
into an OCI layout directory (download and verify, no unpacking).

Before the first round each client pushes and pulls a small image once, untimed (estibad
imports its registry code on first use). The registry's storage is emptied after each
round. In the first round, untimed, every engine also pulls what estiba pushed and estiba
pulls what each of the others pushed. estibad, dockerd and podman are started as
bench/engine.py starts them (private data and exec roots, estiba from a byte-compiled
snapshot of src/), dockerd with `--insecure-registry 127.0.0.1:PORT --bridge none`, podman
and skopeo with --tls-verify=false. Timed values are wall clock of the client command.
Everything is cleaned up in `finally`. Run as root (a README command, not a test):

    .venv/bin/python bench/registry.py [--runs 5] [--engines estiba,docker-estibad,dockerd,podman,skopeo]
                                       [--big-mb 100] [--layers 10] [--layer-mb 5]
                                       [--json FILE] [--markdown]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import engine as eb  # noqa: E402 - bench/engine.py: daemons, snapshot, cleanup, helpers

from engine import BenchError, log, sh  # noqa: E402

ENGINES = ("estiba", "docker-estibad", "dockerd", "podman", "skopeo")
DEFAULT_ENGINES = ENGINES
REFERENCE = "dockerd"
REGISTRY = "/usr/bin/docker-registry"
TRANSFER_TIMEOUT = 600.0
MB = 1000 * 1000

METRICS = {
    "push_big": "push, busybox + {big} MB random layer (s)",
    "pull_big": "  pull of that push (s)",
    "pullgz_big": "  pull of the same shape, gzip layers pushed by skopeo (s)",
    "push_ten": "push, {layers} x {layer_mb} MB random layers (s)",
    "pull_ten": "  pull of that push (s)",
    "pullgz_ten": "  pull of the same shape, gzip layers pushed by skopeo (s)",
}


# ---- images ---------------------------------------------------------------------------


class _Random(io.RawIOBase):
    """A file of `size` random bytes, read once (tarfile.addfile reads exactly size)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left, 1 << 20)
        buffer[:n] = os.urandom(n)
        self.left -= n
        return n


class _Hashing:
    def __init__(self, f) -> None:
        self.f, self.hash = f, hashlib.sha256()

    def write(self, data) -> int:
        self.hash.update(data)
        return self.f.write(data)


def random_layer(path: Path, size: int, name: str) -> str:
    """A layer tar with one directory and one file of random bytes; returns its diff_id."""
    with open(path, "wb") as raw:
        out = _Hashing(raw)
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            folder = tarfile.TarInfo("data")
            folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, 1700000000
            tar.addfile(folder)
            info = tarfile.TarInfo(f"data/{name}")
            info.size, info.mode, info.mtime = size, 0o644, 1700000000
            tar.addfile(info, io.BufferedReader(_Random(size), 1 << 20))
    return "sha256:" + out.hash.hexdigest()


def docker_archive(path: Path, tag: str, base_config: dict, base_layers: list[Path],
                   new_layers: list[tuple[Path, str]], comment: str) -> None:
    """Write a docker-archive (Docker 20.10 `save` layout) of base + new layers."""
    config = json.loads(json.dumps(base_config))
    config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    config["rootfs"].setdefault("diff_ids", [])
    config.setdefault("history", [])
    config["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for _, diff_id in new_layers:
        config["rootfs"]["diff_ids"].append(diff_id)
        config["history"].append({"created": config["created"], "created_by": comment})
    raw = json.dumps(config, separators=(",", ":")).encode()
    config_name = hashlib.sha256(raw).hexdigest() + ".json"
    layer_names = []
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        def add_bytes(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
            tar.addfile(info, io.BytesIO(data))

        for layer in [*base_layers, *(p for p, _ in new_layers)]:
            digest = hashlib.sha256(layer.name.encode() + str(layer).encode()).hexdigest()
            name = f"{digest}/layer.tar"
            info = tar.gettarinfo(str(layer), arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(layer, "rb") as f:
                tar.addfile(info, f)
            add_bytes(f"{digest}/VERSION", b"1.0")
            layer_names.append(name)
        add_bytes(config_name, raw)
        add_bytes("manifest.json", json.dumps(
            [{"Config": config_name, "RepoTags": [tag], "Layers": layer_names}]).encode())


def busybox_parts(saved: Path, into: Path) -> tuple[dict, list[Path]]:
    """The config and layer tars of the busybox docker-archive `estiba save` wrote."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(saved) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))[0]
        config = json.load(tar.extractfile(manifest["Config"]))
        layers = []
        for index, name in enumerate(manifest["Layers"]):
            target = into / f"busybox-{index}.tar"
            with tar.extractfile(name) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            layers.append(target)
    return config, layers


@dataclass
class Images:
    """This round's two archives and their tags."""

    big: Path
    ten: Path
    tags: dict[str, str]


def make_images(work: Path, name: str, round_index: int, busybox: tuple[dict, list[Path]], big_mb: int,
                layers: int, layer_mb: int) -> Images:
    """Both archives, with new random data, in `work` (emptied first)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config, busybox_layers = busybox
    big_layer = work / "big-layer.tar"
    big_diff = random_layer(big_layer, big_mb * MB, f"random-{big_mb}m.bin")
    tags = {"big": f"bench/{name}-big:r{round_index}", "ten": f"bench/{name}-ten:r{round_index}"}
    big = work / "big.tar"
    docker_archive(big, tags["big"], config, busybox_layers, [(big_layer, big_diff)],
                   f"bench: {big_mb} MB of random data")
    big_layer.unlink()
    ten_layers = []
    for index in range(layers):
        path = work / f"ten-{index}.tar"
        ten_layers.append((path, random_layer(path, layer_mb * MB, f"random-{index}.bin")))
    empty = {"architecture": "amd64", "os": "linux",
             "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
             "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
    ten = work / "ten.tar"
    docker_archive(ten, tags["ten"], empty, [], ten_layers, f"bench: {layer_mb} MB of random data")
    for path, _ in ten_layers:
        path.unlink()
    return Images(big, ten, tags)


# ---- clients --------------------------------------------------------------------------


@dataclass
class Client:
    """How one engine loads, pushes, pulls and removes images."""

    name: str
    argv: list[str]
    env: dict[str, str]
    kind: str  # "docker" (estiba CLI and docker CLI share the syntax), "podman", "skopeo"
    failures: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = TRANSFER_TIMEOUT) -> subprocess.CompletedProcess:
        return sh([*self.argv, *args], env=self.env, timeout=timeout)

    def timed(self, *args: str) -> float:
        start = time.perf_counter()
        self.run(*args)
        return time.perf_counter() - start

    def tls(self) -> list[str]:
        return ["--tls-verify=false"] if self.kind == "podman" else []

    def push(self, archive: Path, local: str, remote: str) -> float:
        """load (skopeo: read the archive), push (timed), remove every local tag."""
        if self.kind == "skopeo":
            return self.timed("copy", "--dest-tls-verify=false", f"docker-archive:{archive}", f"docker://{remote}")
        self.run("load", "-i", str(archive))
        self.run("tag", local, remote)
        try:
            return self.timed("push", *self.tls(), remote)
        finally:
            self.remove(local, remote)

    def pull(self, remote: str, scratch: Path) -> float:
        """pull (timed; skopeo: into an OCI layout directory), then remove it."""
        if self.kind == "skopeo":
            layout = scratch / f"{self.name}-oci"
            shutil.rmtree(layout, ignore_errors=True)
            try:
                return self.timed("copy", "--src-tls-verify=false", f"docker://{remote}", f"oci:{layout}:latest")
            finally:
                shutil.rmtree(layout, ignore_errors=True)
        try:
            return self.timed("pull", *self.tls(), remote)
        finally:
            self.remove(remote)

    def remove(self, *refs: str) -> None:
        force = ["-f"] if self.kind == "podman" else []
        for ref in refs:
            sh([*self.argv, "rmi", *force, ref], env=self.env, check=False, timeout=120)


def clients(bench: eb.Bench, names: list[str]) -> list[Client]:
    found = []
    for name in names:
        if name == "skopeo":
            env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONFIG",)}
            env["DOCKER_CONFIG"] = str(bench.base / "skopeo-config")
            found.append(Client("skopeo", ["skopeo", "--insecure-policy"], env, "skopeo"))
            continue
        engine = bench.engines[name]
        found.append(Client(name, list(engine.argv), engine.env, "podman" if name == "podman" else "docker"))
    return found


# ---- the bench: engine.py's daemons plus a registry -----------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RegistryBench(eb.Bench):
    """bench/engine.py's Bench (estibad, dockerd, podman in a temporary directory), with
    dockerd told that our registry is insecure (and given no bridge), and the registry."""

    def __init__(self, engines: list[str]) -> None:
        super().__init__(engines)
        self.port = free_port()
        self.registry = f"127.0.0.1:{self.port}"
        self.storage = self.base / "registry"
        self.transfers: list[dict] = []
        self.interop: list[tuple[str, str]] = []

    def _spawn(self, argv, logname, env=None):
        if argv and argv[0] == "dockerd":
            # No default bridge: nothing here runs a container, and docker0 may belong to
            # another bench running at the same time.
            argv = [*argv, "--insecure-registry", self.registry, "--bridge", "none"]
        return super()._spawn(argv, logname, env)

    def start_registry(self) -> None:
        self.storage.mkdir()
        config = self.base / "registry.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: false\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.registry}\n"
        )
        process = self._spawn([REGISTRY, "serve", str(config)], "registry.log")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"docker-registry exited {process.returncode}: "
                                 f"{eb.read_text(str(self.base / 'registry.log'))[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://{self.registry}/v2/", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise BenchError("docker-registry did not answer within 30s")

    def manifest(self, remote: str) -> dict:
        repo, tag = remote[len(self.registry) + 1:].rsplit(":", 1)
        request = urllib.request.Request(f"http://{self.registry}/v2/{repo}/manifests/{tag}", headers={
            "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
                      "application/vnd.oci.image.manifest.v1+json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def served(self, repo: str) -> int:
        """Bytes of blobs the registry sent for `repo` (its access log: GET .../blobs/, 200)."""
        total = 0
        for line in eb.read_text(str(self.base / "registry.log")).splitlines():
            if f'"GET /v2/{repo}/blobs/' in line:
                fields = line.split('"')[2].split()
                if len(fields) >= 2 and fields[0] == "200" and fields[1].isdigit():
                    total += int(fields[1])
        return total

    def record(self, index: int, name: str, kind: str, remote: str) -> None:
        """What was pushed (layer media types, bytes) and how much the registry served."""
        transfer = {"round": index, "engine": name, "image": kind}
        try:
            manifest = self.manifest(remote)
            transfer["layer_media_types"] = sorted({layer["mediaType"] for layer in manifest["layers"]})
            transfer["pushed_bytes"] = sum(layer["size"] for layer in manifest["layers"]) + manifest["config"]["size"]
            transfer["served_bytes"] = self.served(remote[len(self.registry) + 1:].rsplit(":", 1)[0])
            if index == 0:
                log(f"{name} {kind}: pushed {transfer['pushed_bytes'] / MB:.1f} MB "
                    f"({', '.join(transfer['layer_media_types'])}); registry served "
                    f"{transfer['served_bytes'] / MB:.1f} MB of its blobs so far")
        except (OSError, KeyError, ValueError) as exc:
            log(f"{name} {kind}: could not read what was pushed: {exc}")
        self.transfers.append(transfer)

    def clear_registry(self) -> None:
        """Drop every repository and blob (nothing is ever asked for again: every round's
        data is new)."""
        v2 = self.storage / "docker" / "registry" / "v2"
        for part in ("repositories", "blobs"):
            shutil.rmtree(v2 / part, ignore_errors=True)

    def busybox_tar(self) -> Path:
        saved = self.base / "busybox.tar"
        if not saved.exists():
            with open(saved, "wb") as out:
                done = subprocess.run([str(eb.ESTIBA), "-H", f"unix://{self.estibad_sock}", "save", "busybox"],
                                      stdout=out, stderr=subprocess.PIPE, env=self.engines["estiba"].env,
                                      timeout=120)
            if done.returncode != 0:
                raise BenchError(f"estiba save busybox failed: {done.stderr.decode(errors='replace')}")
        return saved


# ---- measurements ---------------------------------------------------------------------


def measure(bench: RegistryBench, targets: list[Client], runs: int, big_mb: int, layers: int,
            layer_mb: int) -> dict[str, dict[str, list[float]]]:
    """Each round, each engine in turn, with images of its own (new random data: nothing
    any engine moved before can be reused, e.g. through the blob-info cache podman and
    skopeo share in /var/lib/containers, or the unpacked layers estibad keeps after rmi):
    a gzip reference pushed by skopeo (untimed); push, pull of that push, pull of the gzip
    reference (timed)."""
    busybox = busybox_parts(bench.busybox_tar(), bench.base / "busybox-parts")
    samples: dict[str, dict[str, list[float]]] = {metric: {} for metric in METRICS}
    scratch = bench.base / "scratch"
    scratch.mkdir(exist_ok=True)
    publisher = Client("gzip-reference", ["skopeo", "--insecure-policy"], dict(os.environ), "skopeo")
    log("warm-up: one small push and pull per client")
    for client in targets:
        images = make_images(bench.base / "images", client.name, 999, busybox, 1, 1, 1)
        remote = f"{bench.registry}/warmup/{client.name}:latest"
        try:
            client.push(images.big, images.tags["big"], remote)
            client.pull(remote, scratch)
        except BenchError as exc:
            log(f"{client.name}: warm-up failed: {exc}")
    bench.clear_registry()
    for index in range(runs):
        started = time.monotonic()
        order = targets if index % 2 == 0 else list(reversed(targets))
        for client in order:
            # The gzip reference is per client too: estiba and docker-estibad share one
            # estibad, which keeps unpacked layers after rmi (the second pull of the same
            # image would skip the unpacking).
            reference = make_images(bench.base / "images", f"gz-{client.name}", index, busybox, big_mb, layers,
                                    layer_mb)
            gz = {kind: f"{bench.registry}/r{index}/gz-{client.name}-{kind}:latest" for kind in ("big", "ten")}
            for kind, archive in (("big", reference.big), ("ten", reference.ten)):
                publisher.push(archive, reference.tags[kind], gz[kind])
                bench.record(index, "gzip-reference", kind, gz[kind])
            images = make_images(bench.base / "images", client.name, index, busybox, big_mb, layers, layer_mb)
            for kind, archive in (("big", images.big), ("ten", images.ten)):
                if kind in client.failures:
                    continue
                remote = f"{bench.registry}/r{index}/{client.name}-{kind}:latest"
                try:
                    push = client.push(archive, images.tags[kind], remote)
                    pull = client.pull(remote, scratch)
                    pullgz = client.pull(gz[kind], scratch)
                except BenchError as exc:
                    client.failures[kind] = str(exc)
                    log(f"{client.name}: {kind} failed: {exc}")
                    continue
                bench.record(index, client.name, kind, remote)
                samples[f"push_{kind}"].setdefault(client.name, []).append(push)
                samples[f"pull_{kind}"].setdefault(client.name, []).append(pull)
                samples[f"pullgz_{kind}"].setdefault(client.name, []).append(pullgz)
                log(f"round {index + 1}/{runs} {kind:3} {client.name:14} push {push:6.2f}s  "
                    f"pull {pull:6.2f}s  pull gzip {pullgz:6.2f}s")
        if index == 0:
            cross_pulls(bench, targets, index, scratch)
        shutil.rmtree(bench.base / "images", ignore_errors=True)
        bench.clear_registry()
        log(f"round {index + 1}/{runs} took {time.monotonic() - started:.0f}s")
    return samples


def cross_pulls(bench: RegistryBench, targets: list[Client], index: int, scratch: Path) -> None:
    """Untimed, first round only: every engine pulls what estiba pushed, and estiba pulls
    what each of the others pushed (an image one engine pushes must work for the others)."""
    names = [c.name for c in targets]
    if "estiba" not in names:
        return
    estiba = targets[names.index("estiba")]
    pairs = [(c, "estiba") for c in targets if c.name != "estiba"]
    pairs += [(estiba, c.name) for c in targets if c.name != "estiba"]
    for puller, source in pairs:
        for kind in ("big", "ten"):
            remote = f"{bench.registry}/r{index}/{source}-{kind}:latest"
            try:
                puller.pull(remote, scratch)
                bench.interop.append((f"{puller.name} pulls {source}'s {kind}", "ok"))
            except BenchError as exc:
                bench.interop.append((f"{puller.name} pulls {source}'s {kind}", f"FAILED: {exc}"))
                log(f"interop: {puller.name} pulling {remote}: {exc}")


# ---- report ---------------------------------------------------------------------------


def goals(table: dict) -> list[tuple[str, str, bool | None]]:
    out = []
    for metric, text, strict in (("pullgz_big", "pull (same gzip image) faster than dockerd", True),
                                 ("pullgz_ten", "pull (same gzip image) faster than dockerd", True),
                                 ("pull_big", "pull (of own push) faster than dockerd", True),
                                 ("pull_ten", "pull (of own push) faster than dockerd", True),
                                 ("push_big", "push no slower than dockerd", False),
                                 ("push_ten", "push no slower than dockerd", False)):
        ours = table.get(metric, {}).get("estiba", {}).get("median")
        theirs = table.get(metric, {}).get(REFERENCE, {}).get("median")
        if ours is None or theirs is None:
            out.append((f"{text} ({metric})", "-", None))
            continue
        ok = ours < theirs if strict else ours <= theirs
        out.append((f"{text} ({metric})", f"{ours:.2f} / {theirs:.2f} s = {ours / theirs:.2f}", ok))
    return out


def versions(bench: RegistryBench) -> dict[str, str]:
    found = {}
    estiba = bench.engines["estiba"]
    text = sh(estiba.cmd("version"), env=estiba.env, check=False).stdout.decode()
    values = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("Version:")]
    found["estiba"] = f"client {values[0]}, server {values[1]}" if len(values) >= 2 else text.strip()
    found["docker CLI"] = eb.first_line([eb.DOCKER, "--version"])
    found["dockerd"] = eb.first_line(["dockerd", "--version"])
    found["containerd"] = eb.first_line(["containerd", "--version"])
    found["podman"] = eb.first_line(["podman", "--version"])
    found["skopeo"] = eb.first_line(["skopeo", "--version"])
    found["docker-registry"] = eb.first_line([REGISTRY, "--version"])
    found["python"] = sys.version.split()[0]
    return found


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--engines", default=",".join(DEFAULT_ENGINES),
                        help=f"comma-separated subset of {','.join(ENGINES)} (default: {','.join(DEFAULT_ENGINES)})")
    parser.add_argument("--big-mb", type=int, default=100, help="size of the big random layer (default 100 MB)")
    parser.add_argument("--layers", type=int, default=10, help="layers of the many-layer image (default 10)")
    parser.add_argument("--layer-mb", type=int, default=5, help="size of each of those layers (default 5 MB)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--no-snapshot", action="store_true",
                        help="run estiba from the work tree, not from a byte-compiled copy made at start")
    args = parser.parse_args(argv)
    args.engines = eb.engine_names(parser, args.engines, ENGINES)
    if min(args.runs, args.big_mb, args.layers, args.layer_mb) < 1:
        parser.error("--runs, --big-mb, --layers and --layer-mb must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("registry: run as root (the daemons need it)", file=sys.stderr)
        return 1
    wanted = set(args.engines)
    tools = ((str(eb.ESTIBAD), True), (REGISTRY, True), ("skopeo", True), (eb.DOCKER, bool({"docker-estibad", "dockerd"} & wanted)),
             ("dockerd", "dockerd" in wanted), ("podman", "podman" in wanted), ("skopeo", "skopeo" in wanted))
    missing = [tool for tool, needed in tools if needed and not shutil.which(tool)]
    if missing:
        print(f"registry: missing {', '.join(missing)} (apt-get install docker-registry docker.io podman skopeo)",
              file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, eb._terminate)
    bench = RegistryBench([name for name in args.engines if name != "skopeo"])
    started = time.time()
    try:
        log(f"temporary directory {bench.base}; registry on {bench.registry}")
        bench.start_registry()
        bench.start(snapshot=not args.no_snapshot)
        targets = clients(bench, args.engines)
        found = versions(bench)
        samples = measure(bench, targets, args.runs, args.big_mb, args.layers, args.layer_mb)
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        return 130
    except BenchError as exc:
        log(f"failed: {exc}")
        return 1
    finally:
        bench.cleanup()
    table = eb.spread_table(samples, REFERENCE)
    names = [c.name for c in targets]
    labels = {"big": args.big_mb, "layers": args.layers, "layer_mb": args.layer_mb}
    header, body = eb.spread_rows(table, names, METRICS, REFERENCE, labels)
    print(f"registry benchmark: {args.runs} rounds, median (min-max) seconds, xN = ratio to {REFERENCE}'s median")
    eb.print_table(header, body, args.markdown)
    for client in targets:
        for kind, error in client.failures.items():
            print(f"FAILED: {client.name} {kind}: {error}")
    if bench.interop:
        failed = [f"{what}: {result}" for what, result in bench.interop if result != "ok"]
        print(f"interop (round 1, untimed): {len(bench.interop) - len(failed)}/{len(bench.interop)} cross pulls ok")
        for line in failed:
            print(f"  {line}")
    print()
    goal_rows = [[goal, value, "-" if ok is None else ("met" if ok else "NOT met")] for goal, value, ok in goals(table)]
    eb.print_table(["goal (estiba vs dockerd)", "value", "status"], goal_rows, args.markdown)
    print()
    for key, value in {**found, **eb.machine()}.items():
        print(f"{key}: {value}")
    print(f"took {time.time() - started:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "runs": args.runs, "sizes": labels, "table": table, "samples_s": samples,
            "failures": {c.name: c.failures for c in targets if c.failures},
            "transfers": bench.transfers,
            "interop": bench.interop,
            "goals": [{"goal": g, "value": v, "met": ok} for g, v, ok in goals(table)],
            "versions": found, "machine": eb.machine(),
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
