"""The services' dependency graph and a walk over it with parallelism.

Edges come from depends_on, `network_mode: service:X` and `volumes_from: [X]`. A walk in
dependency order runs a service once every one of its dependencies is done (several at a
time, in threads); the reverse walk (stop, down) runs a service once every service that
depends on it is done. A failure stops the walk from starting anything new; the ones
already running finish, then the first error is raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from estiba.errors import InvalidArgument

__all__ = ["Graph", "dependencies_of", "parallel"]


def dependencies_of(service: dict) -> set[str]:
    """The services this one needs before it: depends_on, network_mode, volumes_from."""
    needed = set(service.get("depends_on") or {})
    mode = service.get("network_mode") or ""
    if mode.startswith("service:"):
        needed.add(mode[len("service:") :])
    for source in service.get("volumes_from") or ():
        name = source.split(":")[0]
        if not name.startswith("container"):
            needed.add(name)
    return needed


class Graph:
    """Services (names) and the services each one depends on, restricted to `nodes`."""

    def __init__(self, edges: dict[str, Iterable[str]]) -> None:
        self.nodes = sorted(edges)
        known = set(self.nodes)
        self.needs = {n: sorted(set(deps) & known - {n}) for n, deps in edges.items()}
        self.needed_by: dict[str, list[str]] = {n: [] for n in self.nodes}
        for node, deps in self.needs.items():
            for dep in deps:
                self.needed_by[dep].append(node)
        self._check_cycles()

    @classmethod
    def of(cls, services: dict[str, dict], names: Iterable[str] | None = None) -> Graph:
        """The graph of `names` (all services when None) from the project's services."""
        chosen = list(services) if names is None else list(names)
        return cls({n: dependencies_of(services.get(n) or {}) for n in chosen})

    def _check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 visiting, 2 done
        for start in self.nodes:
            if state.get(start):
                continue
            stack: list[tuple[str, int]] = [(start, 0)]
            path: list[str] = []
            while stack:
                node, index = stack.pop()
                if index == 0:
                    state[node] = 1
                    path.append(node)
                deps = self.needs[node]
                if index < len(deps):
                    stack.append((node, index + 1))
                    dep = deps[index]
                    if state.get(dep) == 1:
                        cycle = path[path.index(dep) :] + [dep]
                        raise InvalidArgument(
                            "dependency cycle detected: " + " -> ".join(cycle),
                            hint="remove one of these depends_on",
                        )
                    if not state.get(dep):
                        stack.append((dep, 0))
                else:
                    state[node] = 2
                    path.pop()

    def order(self, *, reverse: bool = False) -> list[str]:
        """One sequential order (dependencies first, or dependents first when reversed)."""
        done: list[str] = []
        self.walk(done.append, reverse=reverse, workers=1)
        return done

    def walk(
        self, action: Callable[[str], object], *, reverse: bool = False, workers: int = 8
    ) -> None:
        """Run `action(service)` for every node, each once what it waits for is done."""
        before = self.needed_by if reverse else self.needs
        after = self.needs if reverse else self.needed_by
        pending = {n: len(before[n]) for n in self.nodes}
        ready = [n for n in self.nodes if pending[n] == 0]
        errors: list[BaseException] = []
        lock = threading.Lock()
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            running: dict[Future, str] = {}
            while ready or running:
                while ready and not errors:
                    node = ready.pop(0)
                    running[pool.submit(action, node)] = node
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    node = running.pop(future)
                    error = future.exception()
                    if error is not None:
                        with lock:
                            errors.append(error)
                        continue
                    for follower in after[node]:
                        pending[follower] -= 1
                        if pending[follower] == 0:
                            ready.append(follower)
                if errors:
                    ready.clear()
        if errors:
            raise errors[0]


def parallel(items: Iterable, action: Callable[[object], object], *, workers: int = 8) -> None:
    """`action` on every item at once (a service's containers); the first error is raised
    once all are done."""
    items = list(items)
    if len(items) <= 1:
        for item in items:
            action(item)
        return
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        futures = [pool.submit(action, item) for item in items]
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
