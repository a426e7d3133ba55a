"""Shared fixtures: a busybox rootfs, OCI bundles made from it, and runtime wrappers.

The same bundle can be handed to estiba-runtime and to runc (`any_runtime`), so that
integration tests assert one observable result for both. Tests under tests/integration
need root and a real kernel; without root they are skipped with the command to run.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from estiba.images.bootstrap import busybox_rootfs as build_busybox_rootfs
from estiba.runtime.specgen import default_spec, write_bundle

REPO = Path(__file__).resolve().parent.parent
INTEGRATION_DIR = REPO / "tests" / "integration"
ROOT_SKIP_REASON = "needs root (run as root: sudo bash scripts/test.sh)"


# --- tiers ---------------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark everything under tests/integration as `root`, and skip `root` tests for non-root."""
    is_root = os.geteuid() == 0
    skip_root = pytest.mark.skip(reason=ROOT_SKIP_REASON)
    for item in items:
        if Path(item.path).is_relative_to(INTEGRATION_DIR):
            item.add_marker(pytest.mark.root)
        if not is_root and item.get_closest_marker("root") is not None:
            item.add_marker(skip_root)


# --- rootfs and bundles --------------------------------------------------------------


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox rootfs built once per session. Read it, never write to it: copy it
    (or use `make_bundle`) to get a rootfs of your own."""
    return build_busybox_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


SpecEdit = Callable[[dict[str, Any]], "dict[str, Any] | None"]


@pytest.fixture
def make_bundle(busybox_rootfs: Path) -> Iterator[Callable[..., Path]]:
    """Factory: `make_bundle(edit=None, *, args=None, terminal=False, rootless=False,
    **spec_overrides) -> Path` returns a new bundle directory.

    The bundle holds a private copy of the session rootfs (`cp -a --reflink=auto`, so a
    test can write to it freely) and a config.json from `default_spec(...)`, the same
    spec `runc spec` writes, with `process.terminal` false by default. `spec_overrides`
    are deep-merged into it (dicts merge, anything else replaces: `hostname="x"`,
    `process={"user": {"uid": 1000, "gid": 1000}}`); then `edit(spec)` may change the
    spec in place or return a new one.

    Bundles live under a short, world-traversable directory in /tmp (not pytest's 0700
    tmp_path): a runtime setting up a user namespace must reach the rootfs as the mapped
    root, and socket paths next to a bundle must stay under 108 bytes.
    """
    counter = itertools.count()
    base = Path(tempfile.mkdtemp(prefix="estiba-bundles-"))
    base.chmod(0o755)

    def make(
        edit: SpecEdit | None = None,
        /,
        *,
        args: Sequence[str] | None = None,
        terminal: bool = False,
        rootless: bool = False,
        **spec_overrides: Any,
    ) -> Path:
        bundle = base / f"bundle{next(counter)}"
        bundle.mkdir()
        copy_tree(busybox_rootfs, bundle / "rootfs")
        spec = default_spec(
            args=list(args) if args is not None else None, terminal=terminal, rootless=rootless
        )
        spec = deep_merge(spec, spec_overrides)
        if edit is not None:
            edited = edit(spec)
            spec = edited if edited is not None else spec
        write_bundle(bundle, spec)
        return bundle

    yield make
    shutil.rmtree(base, ignore_errors=True)


def copy_tree(src: Path, dest: Path) -> None:
    """Copy a rootfs with owners, modes and symlinks; reflinks where the filesystem can."""
    subprocess.run(["cp", "-a", "--reflink=auto", "--", str(src), str(dest)], check=True)


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A new dict: `overrides` merged into `base`, recursively for dicts."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# --- runtimes ------------------------------------------------------------------------


class RuntimeCommandError(AssertionError):
    """A runtime command that had to succeed did not; carries its output."""


class Runtime:
    """One OCI runtime CLI (estiba-runtime or runc) with a private `--root`.

    Every command returns a CompletedProcess with text output and does not check the exit
    status, so tests can compare failures between runtimes; `state` is the exception
    (it returns the parsed JSON and raises RuntimeCommandError on failure).

    Commands that leave the container running in the background (`create`, and `run` or
    `exec` with -d/--detach) hand the container the runtime's stdout/stderr, so these go to
    files instead of pipes (a pipe would stay open as long as the container lives);
    `output(cid)` reads what the container wrote there so far.
    """

    def __init__(self, name: str, argv: Sequence[str], root: Path, logs: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.root = root
        self.logs = logs
        self.containers: list[str] = []

    def __repr__(self) -> str:
        return f"Runtime({self.name!r}, root={str(self.root)!r})"

    def cmd(
        self,
        *args: str | os.PathLike[str],
        input: str | None = None,
        timeout: float = 30,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run `<runtime> --root <root> <args...>` to completion."""
        argv = [*self.argv, "--root", str(self.root), *map(str, args)]
        result = subprocess.run(
            argv,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
        if check:
            _check(result)
        return result

    def run(
        self,
        bundle: Path,
        cid: str,
        *extra: str,
        input: str | None = None,
        timeout: float = 30,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """`run --bundle <bundle> <extra...> <cid>`: in the foreground unless `-d` is in extra."""
        self.containers.append(cid)
        args = ["run", "--bundle", str(bundle), *extra, cid]
        if _detached(extra):
            return self._background(cid, args, timeout=timeout, check=check)
        return self.cmd(*args, input=input, timeout=timeout, check=check)

    def create(
        self, bundle: Path, cid: str, *extra: str, timeout: float = 30, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """`create --bundle <bundle> <extra...> <cid>`; the container's stdio goes to files."""
        self.containers.append(cid)
        args = ["create", "--bundle", str(bundle), *extra, cid]
        return self._background(cid, args, timeout=timeout, check=check)

    def start(
        self, cid: str, *, timeout: float = 30, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return self.cmd("start", cid, timeout=timeout, check=check)

    def state(self, cid: str, *, timeout: float = 30) -> dict[str, Any]:
        """The parsed output of `state <cid>`; raises RuntimeCommandError when it fails."""
        result = self.cmd("state", cid, timeout=timeout, check=True)
        return json.loads(result.stdout)

    def kill(
        self, cid: str, signal: str = "KILL", *extra: str, timeout: float = 30, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """`kill <extra...> <cid> <signal>` (extra: e.g. "--all")."""
        return self.cmd("kill", *extra, cid, signal, timeout=timeout, check=check)

    def delete(
        self, cid: str, *, force: bool = False, timeout: float = 30, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return self.cmd("delete", *(["--force"] if force else []), cid, timeout=timeout, check=check)

    def exec(
        self,
        cid: str,
        *args: str,
        opts: Sequence[str] = (),
        input: str | None = None,
        timeout: float = 30,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """`exec <opts...> <cid> <args...>`, e.g. exec(cid, "id", "-u", opts=["--user", "1000"])."""
        argv = ["exec", *opts, cid, *args]
        if _detached(opts):
            return self._background(cid, argv, timeout=timeout, check=check, suffix="exec")
        return self.cmd(*argv, input=input, timeout=timeout, check=check)

    def output(self, cid: str) -> str:
        """What a background container (create, run -d) wrote to stdout so far."""
        return _read(self.logs / f"{cid}.out")

    def errors(self, cid: str) -> str:
        """What a background container and its runtime wrote to stderr so far."""
        return _read(self.logs / f"{cid}.err")

    def cleanup(self) -> None:
        """Force-delete every container this runtime was asked to make; ignore failures."""
        names = list(dict.fromkeys(self.containers))
        try:
            listed = self.cmd("list", "--quiet", timeout=10)
            if listed.returncode == 0:
                names += [n for n in listed.stdout.split() if n not in names]
        except (OSError, subprocess.SubprocessError):
            pass
        for cid in names:
            try:
                self.delete(cid, force=True, timeout=15)
            except (OSError, subprocess.SubprocessError):
                pass

    def _background(
        self, cid: str, args: Sequence[str], *, timeout: float, check: bool, suffix: str = ""
    ) -> subprocess.CompletedProcess[str]:
        stem = f"{cid}.{suffix}" if suffix else cid
        out_path, err_path = self.logs / f"{stem}.out", self.logs / f"{stem}.err"
        argv = [*self.argv, "--root", str(self.root), *args]
        with open(out_path, "ab") as out, open(err_path, "ab") as err:
            start = err.tell()
            completed = subprocess.run(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=timeout
            )
        with open(err_path, "rb") as err:
            err.seek(start)
            stderr = err.read().decode(errors="replace")
        result = subprocess.CompletedProcess(argv, completed.returncode, "", stderr)
        if check:
            _check(result)
        return result


def _detached(extra: Sequence[str]) -> bool:
    return any(arg in ("-d", "--detach") for arg in extra)


def _check(result: subprocess.CompletedProcess[str]) -> None:
    if result.returncode != 0:
        raise RuntimeCommandError(
            f"{' '.join(map(str, result.args))} exited {result.returncode}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def estiba_runtime_argv() -> list[str]:
    """The venv's console script, or the module when the package is not installed."""
    script = REPO / ".venv" / "bin" / "estiba-runtime"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "estiba.runtime.cli"]


def runc_argv() -> list[str] | None:
    path = shutil.which("runc") or next(
        (p for p in ("/usr/sbin/runc", "/usr/bin/runc") if os.access(p, os.X_OK)), None
    )
    return [path] if path else None


@pytest.fixture
def runtime_factory(make_bundle) -> Iterator[Callable[[str, Sequence[str]], Runtime]]:
    """Make Runtime objects with a fresh state root each; all torn down after the test.

    It depends on `make_bundle` only so that containers are deleted before their bundles.
    """
    made: list[tuple[Runtime, Path]] = []

    def make(name: str, argv: Sequence[str]) -> Runtime:
        # Short paths under /tmp: runtimes put sockets and fifos in their root.
        base = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        (base / "root").mkdir()
        (base / "logs").mkdir()
        runtime = Runtime(name, argv, base / "root", base / "logs")
        made.append((runtime, base))
        return runtime

    yield make
    for runtime, base in made:
        runtime.cleanup()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def estiba_runtime(runtime_factory) -> Runtime:
    return runtime_factory("estiba", estiba_runtime_argv())


@pytest.fixture
def runc(runtime_factory) -> Runtime:
    argv = runc_argv()
    if argv is None:
        pytest.skip("runc not installed")
    return runtime_factory("runc", argv)


@pytest.fixture(params=["estiba", "runc"])
def any_runtime(request: pytest.FixtureRequest) -> Runtime:
    """Each test using it runs twice: with estiba-runtime and with runc."""
    return request.getfixturevalue("estiba_runtime" if request.param == "estiba" else "runc")
