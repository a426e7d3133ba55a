"""Benchmark: container snapshots and copies of a 1 GB container (issue 5's "cheap").

Two containers of about 1 GB each, on a private estibad in a temporary directory:

- `image-heavy`: 1 GB in its image (a committed layer), a few MB written by the container:
  the common case, where the image's layers are shared and never copied;
- `writable-heavy`: 1 GB written into the container's own writable layer.

For each: the time of `estiba snapshot create` (stopped and running), of `snapshot
restore` and of `container copy`, and the extra disk the snapshot takes (du of its
directory, and the filesystem's used blocks before and after). The writable layer is
copied with `cp --reflink=auto`: on btrfs or xfs it shares blocks, on ext4 it is a copy.

Run as root (a README command, not a test):

    .venv/bin/python bench/snapshots.py [--size-mb 1024] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ESTIBA = REPO / ".venv" / "bin" / "estiba"
ESTIBAD = REPO / ".venv" / "bin" / "estibad"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="estiba-bench-snap-"))
    daemon = _start(directory)
    try:
        results = _measure(directory, args.size_mb)
    finally:
        subprocess.run([str(ESTIBA), "-H", _url(directory), "rm", "-f", "big1", "big2", "copy1", "copy2"],
                       capture_output=True)
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
        with open("/proc/self/mountinfo") as mounts:
            for line in reversed(mounts.read().splitlines()):
                if str(directory) in line.split()[4]:
                    subprocess.run(["umount", "-l", line.split()[4]], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)
    print(_markdown(results, args.size_mb))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def _url(directory: Path) -> str:
    return f"unix://{directory}/run/estiba.sock"


def _start(directory: Path) -> subprocess.Popen[bytes]:
    (directory / "daemon.json").write_text("{}")
    log = open(directory / "estibad.log", "ab")  # noqa: SIM115 - the daemon's lifetime
    daemon = subprocess.Popen(
        [str(ESTIBAD), "--config-file", str(directory / "daemon.json"), "--data-root", str(directory / "data"),
         "--exec-root", str(directory / "run"), "-H", _url(directory)],
        stdout=log, stderr=log,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while not (directory / "run" / "estiba.sock").exists():
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"estibad did not start: {(directory / 'estibad.log').read_text()}")
        time.sleep(0.05)
    return daemon


def _estiba(directory: Path, *args: str) -> float:
    started = time.monotonic()
    result = subprocess.run([str(ESTIBA), "-H", _url(directory), *args], capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"estiba {' '.join(args)}: {result.stderr}")
    return elapsed


def _du(path: Path) -> int:
    result = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(result.stdout.split()[0])


def _used(path: Path) -> int:
    stat = os.statvfs(path)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


def _snapshot_case(directory: Path, name: str, snapshots: Path) -> dict[str, float]:
    container_id = subprocess.run([str(ESTIBA), "-H", _url(directory), "inspect", "-f", "{{.Id}}", name],
                                  capture_output=True, text=True, check=True).stdout.strip()
    used = _used(directory)
    stopped = _estiba(directory, "snapshot", "create", name, "stopped")
    extra = _used(directory) - used
    size = _du(snapshots / container_id / "stopped")
    _estiba(directory, "start", name)
    running = _estiba(directory, "snapshot", "create", name, "running")
    restore = _estiba(directory, "snapshot", "restore", "--force", name, "stopped")
    copy = _estiba(directory, "container", "copy", f"{name}/stopped", f"copy-{name}")
    _estiba(directory, "rm", "-f", f"copy-{name}")
    return {"snapshot_stopped_s": stopped, "snapshot_running_s": running, "restore_force_s": restore,
            "copy_s": copy, "snapshot_du_bytes": size, "snapshot_disk_growth_bytes": extra}


def _measure(directory: Path, size_mb: int) -> dict[str, dict[str, float]]:
    snapshots = directory / "data" / "container-snapshots"
    _estiba(directory, "image", "bootstrap", "busybox")
    loop = "trap 'exit 0' TERM; while true; do sleep 0.1; done"
    # image-heavy: 1 GB in a committed layer, 4 MB written by the container.
    _estiba(directory, "run", "--name", "maker", "busybox", "dd", "if=/dev/zero", "of=/big", "bs=1M",
            f"count={size_mb}")
    _estiba(directory, "commit", "maker", "big:1")
    _estiba(directory, "rm", "maker")
    _estiba(directory, "create", "--name", "big1", "big:1", "sh", "-c", loop)
    _estiba(directory, "start", "big1")
    _estiba(directory, "exec", "big1", "dd", "if=/dev/zero", "of=/small", "bs=1M", "count=4")
    _estiba(directory, "stop", "big1")
    image_heavy = _snapshot_case(directory, "big1", snapshots)
    _estiba(directory, "stop", "big1")
    # writable-heavy: 1 GB in the container's own layer.
    _estiba(directory, "create", "--name", "big2", "busybox", "sh", "-c", loop)
    _estiba(directory, "start", "big2")
    _estiba(directory, "exec", "big2", "dd", "if=/dev/zero", "of=/big", "bs=1M", f"count={size_mb}")
    _estiba(directory, "stop", "big2")
    writable_heavy = _snapshot_case(directory, "big2", snapshots)
    _estiba(directory, "stop", "big2")
    return {"image-heavy": image_heavy, "writable-heavy": writable_heavy}


def _markdown(results: dict[str, dict[str, float]], size_mb: int) -> str:
    rows = ["snapshot_stopped_s", "snapshot_running_s", "restore_force_s", "copy_s", "snapshot_du_bytes",
            "snapshot_disk_growth_bytes"]
    lines = [f"| {size_mb} MB container | image-heavy | writable-heavy |", "|---|---|---|"]
    for row in rows:
        cells = []
        for case in ("image-heavy", "writable-heavy"):
            value = results[case][row]
            cells.append(f"{value:.3f}" if row.endswith("_s") else f"{value / 1e6:.1f} MB")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
