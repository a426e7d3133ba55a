"""What the v1 and v2 managers do alike: saved paths, pids, kill_all, destroy, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from estiba.errors import InvalidArgument, SystemFault
from estiba.runtime.cgroups import _kernel
from estiba.runtime.cgroups._kernel import Kernel

# How long freeze()/thaw() wait for the kernel to report the new state.
FREEZE_TIMEOUT = 5.0


class ManagerBase:
    """Holds controller -> directory and the kernel door; subclasses add the controllers."""

    _paths: dict[str, str]
    _kernel: Kernel

    def _init(self, paths: Mapping[str, str], kernel: Kernel | None) -> None:
        self._paths = dict(paths)
        self._kernel = kernel or Kernel()

    @classmethod
    def from_paths(cls, paths: Mapping[str, str], *, kernel: Kernel | None = None):
        """Re-open a manager from `paths` saved by another process (e.g. for `delete`)."""
        if not paths or not all(isinstance(p, str) and p.startswith("/") for p in paths.values()):
            raise InvalidArgument(f"saved cgroup paths {dict(paths)!r}: need absolute paths")
        manager = cls.__new__(cls)
        manager._init(paths, kernel)
        return manager

    @property
    def paths(self) -> dict[str, str]:
        return dict(self._paths)

    def __repr__(self) -> str:
        return f"{type(self).__name__}.from_paths({self._paths!r})"

    def pids(self) -> list[int]:
        """Every pid in the container's cgroups, nested ones included, in any hierarchy."""
        found: set[int] = set()
        for path in self._paths.values():
            found.update(_kernel.read_pids(path))
        return sorted(found)

    def add(self, pid: int) -> None:
        for path in self._paths.values():
            _kernel.write(self._kernel, path, "cgroup.procs", str(pid))

    def kill_all(self, sig: int) -> None:
        """Signal every process; frozen first so that none forks away meanwhile."""
        if not self._can_freeze():
            _kernel.signal_pids(self._kernel, self.pids(), sig)
            return
        self.freeze()
        try:
            _kernel.signal_pids(self._kernel, self.pids(), sig)
        finally:
            self.thaw()

    def destroy(self, timeout: float = _kernel.RMDIR_TIMEOUT) -> None:
        """rmdir in every hierarchy; missing directories are fine, so calling twice is too.

        Busy cgroups (tasks still exiting) are retried for `timeout` seconds in all.
        """
        deadline = time.monotonic() + timeout
        first_error = None
        for path in dict.fromkeys(self._paths.values()):
            try:
                _kernel.remove_tree(self._kernel, path, deadline)
            except SystemFault as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error

    def _can_freeze(self) -> bool:
        raise NotImplementedError

    def freeze(self) -> None:
        raise NotImplementedError

    def thaw(self) -> None:
        raise NotImplementedError


def wait_for(done: Callable[[], bool], timeout: float = FREEZE_TIMEOUT) -> bool:
    """Poll `done` with a growing pause; False if it never held within `timeout`."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        if done():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
