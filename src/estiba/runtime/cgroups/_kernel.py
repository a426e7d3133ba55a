"""The cgroup managers' only door to the kernel: file writes, mkdir/rmdir, signals, BPF.

Managers take a `Kernel`; unit tests pass a fake whose mkdir fills the new directory with
the files the kernel would create. Reads are plain file reads and go through `read`.
Every foreign OSError is turned into an `estiba.errors` kind here, at the edge.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Sequence

from estiba.errors import SystemFault

# destroy() retries rmdir this long while the last tasks of a cgroup exit (EBUSY).
RMDIR_TIMEOUT = 2.0


class Kernel:
    """The real kernel. Subclass and override to fake or record in tests."""

    def write(self, path: str, data: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)

    def mkdir(self, path: str) -> None:
        os.mkdir(path, 0o755)

    def rmdir(self, path: str) -> None:
        os.rmdir(path)

    def kill(self, pid: int, sig: int) -> None:
        os.kill(pid, sig)

    def attach_device_filter(self, cgroup_dir: str, program: Sequence) -> None:
        from estiba.runtime.cgroups import bpf_devices  # ctypes only when devices are set

        bpf_devices.load_and_attach(cgroup_dir, program)


def write(kernel: Kernel, directory: str, name: str, value: str) -> None:
    """Write one value to a cgroup file; errors name the cgroup, the file and the reason."""
    try:
        kernel.write(os.path.join(directory, name), value)
    except OSError as exc:
        raise SystemFault(
            f"cgroup {directory}: cannot write {value!r} to {name}: {exc.strerror}"
        ) from exc


def read(directory: str, name: str) -> str:
    try:
        with open(os.path.join(directory, name), encoding="ascii") as f:
            return f.read()
    except OSError as exc:
        raise SystemFault(f"cgroup {directory}: cannot read {name}: {exc.strerror}") from exc


def read_int(directory: str, name: str, *, max_value: int = 0) -> int:
    """An integer file; "max" reads as `max_value` (0 means "no limit", as runc reports it)."""
    text = read(directory, name).strip()
    if text == "max":
        return max_value
    try:
        return int(text)
    except ValueError as exc:
        raise SystemFault(f"cgroup {directory}: {name} is not a number: {text!r}") from exc


def exists(directory: str, name: str) -> bool:
    return os.path.exists(os.path.join(directory, name))


def read_pids(directory: str) -> list[int]:
    """Pids in `directory` and every cgroup below it (a container may nest cgroups)."""
    pids: list[int] = []
    for dirpath, _dirnames, filenames in os.walk(directory):
        if "cgroup.procs" in filenames:
            try:
                with open(os.path.join(dirpath, "cgroup.procs"), encoding="ascii") as f:
                    pids.extend(int(line) for line in f if line.strip())
            except FileNotFoundError:
                continue  # a nested cgroup removed while we walked
            except OSError as exc:
                raise SystemFault(
                    f"cgroup {dirpath}: cannot read cgroup.procs: {exc.strerror}"
                ) from exc
    return pids


def make_dirs(kernel: Kernel, levels: Sequence[str]) -> None:
    """Create each missing directory of `levels`, given top-down."""
    for level in levels:
        try:
            kernel.mkdir(level)
        except FileExistsError:
            continue
        except OSError as exc:
            raise SystemFault(f"cgroup {level}: cannot create: {exc.strerror}") from exc


def remove_tree(kernel: Kernel, directory: str, deadline: float) -> None:
    """rmdir a cgroup and any cgroups nested in it, deepest first.

    Missing directories are fine (destroy is idempotent). EBUSY means tasks are still
    exiting, so retry with a growing pause until the `deadline` (time.monotonic()).
    """
    if not os.path.isdir(directory):
        return
    nested = [dirpath for dirpath, _d, _f in os.walk(directory, topdown=False)]
    for path in nested:
        pause = 0.005
        while True:
            try:
                kernel.rmdir(path)
                break
            except FileNotFoundError:
                break
            except OSError as exc:
                if exc.errno == errno.EBUSY and time.monotonic() < deadline:
                    time.sleep(pause)
                    pause = min(pause * 2, 0.1)
                    continue
                raise SystemFault(
                    f"cgroup {path}: cannot remove: {exc.strerror}",
                    hint="processes may still be inside; kill them first",
                ) from exc


def signal_pids(kernel: Kernel, pids: Sequence[int], sig: int) -> None:
    for pid in pids:
        try:
            kernel.kill(pid, sig)
        except ProcessLookupError:
            continue  # exited meanwhile
        except OSError as exc:
            raise SystemFault(f"cannot send signal {sig} to pid {pid}: {exc.strerror}") from exc


def hierarchy_levels(path: str) -> list[str]:
    """Directories from the hierarchy's mount point down to `path`, top-down, both included.

    The mount point is the first existing directory whose parent holds no cgroup.procs, so
    no file is ever looked for outside the hierarchy (the root needs no saving in state).
    """
    levels: list[str] = []
    current = os.path.normpath(path)
    while True:
        levels.append(current)
        parent = os.path.dirname(current)
        if os.path.isdir(current) and not os.path.exists(os.path.join(parent, "cgroup.procs")):
            break
        if parent == current:
            raise SystemFault(f"cgroup {path}: not inside a cgroup hierarchy")
        current = parent
    levels.reverse()
    return levels
