"""Image bootstrap: images made on this host, with no registry (busybox, Debian).

`busybox_rootfs` builds a root filesystem from the host's static busybox: one real file (a
copy of busybox, which must be statically linked so it runs without a libc in the
container), a symlink per applet and the handful of files in /etc that tools look up
(users, groups, hostname). It needs no privileges. `bootstrap_busybox` and
`bootstrap_debian` turn such trees (the latter made by debootstrap) into tagged one-layer
images.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from estiba.content import Descriptor
from estiba.errors import InvalidArgument, NotFound, SystemFault, Unavailable
from estiba.images._records import Image
from estiba.images.assemble import now_rfc3339, write_image
from estiba.images.layers import IdMap, layer_from_dir
from estiba.images.model import ContainerConfig, History, ImageConfig, host_platform
from estiba.images.store import ImageStore

_INSTALL_HINT = "install it with: apt-get install busybox-static"

# Directories every rootfs gets, with their modes (umask does not apply: we chmod).
_DIRECTORIES: dict[str, int] = {
    "bin": 0o755,
    "sbin": 0o755,
    "usr": 0o755,
    "usr/bin": 0o755,
    "usr/sbin": 0o755,
    "etc": 0o755,
    "proc": 0o555,
    "sys": 0o555,
    "dev": 0o755,
    "tmp": 0o1777,
    "root": 0o700,
    "home": 0o755,
    "home/estiba": 0o755,
    "var": 0o755,
}

# Users and groups the runtime tests rely on: `estiba` is an unprivileged user with a
# supplementary group (`extra`), so that uid, gid and groups can all be observed.
_PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
estiba:x:1000:1000:estiba:/home/estiba:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""

_GROUP = """\
root:x:0:
daemon:x:1:
users:x:100:
estiba:x:1000:
extra:x:2000:estiba
nogroup:x:65534:
"""

_HOSTNAME = "estiba\n"

_PT_INTERP = 3


def busybox_rootfs(dest: Path, busybox: Path = Path("/bin/busybox")) -> Path:
    """Build a busybox root filesystem in `dest` (created if missing) and return it.

    Existing entries are kept, so calling it again on the same directory is harmless.
    """
    busybox = Path(busybox)
    dest = Path(dest)
    _check_static(busybox)
    applets = _applets(busybox)

    dest.mkdir(parents=True, exist_ok=True)
    for name, mode in _DIRECTORIES.items():
        path = dest / name
        path.mkdir(exist_ok=True)
        path.chmod(mode)
    if os.geteuid() == 0:
        os.chown(dest / "home/estiba", 1000, 1000)

    shutil.copy2(busybox, dest / "bin/busybox")

    for applet_path in applets:
        name = applet_path.name
        # Every applet is reachable as /bin/<name>; those busybox files elsewhere
        # (/usr/bin/id, /sbin/init) are reachable there too.
        _symlink_to_busybox(dest, Path("bin") / name)
        if applet_path.parent != Path("bin") and applet_path.parent != Path("."):
            _symlink_to_busybox(dest, applet_path)

    _write_text(dest / "etc/passwd", _PASSWD, 0o644)
    _write_text(dest / "etc/group", _GROUP, 0o644)
    _write_text(dest / "etc/hostname", _HOSTNAME, 0o644)
    return dest


def _check_static(busybox: Path) -> None:
    """Refuse a missing or dynamically linked busybox: it would not run in the rootfs."""
    try:
        with busybox.open("rb") as f:
            header = f.read(64)
            if header[:4] != b"\x7fELF" or header[4] != 2:
                raise InvalidArgument(f"{busybox} is not a 64-bit ELF binary", hint=_INSTALL_HINT)
            endian = "<" if header[5] == 1 else ">"
            (phoff,) = struct.unpack_from(endian + "Q", header, 0x20)
            phentsize, phnum = struct.unpack_from(endian + "HH", header, 0x36)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except FileNotFoundError as exc:
        raise NotFound(f"busybox not found at {busybox}", hint=_INSTALL_HINT) from exc
    except OSError as exc:
        raise SystemFault(f"cannot read {busybox}: {exc.strerror}") from exc
    for index in range(phnum):
        (p_type,) = struct.unpack_from(endian + "I", table, index * phentsize)
        if p_type == _PT_INTERP:
            raise InvalidArgument(
                f"{busybox} is dynamically linked and cannot run in a bare rootfs",
                hint=_INSTALL_HINT,
            )


def _applets(busybox: Path) -> list[Path]:
    """The applets as paths relative to the root (`bin/sh`, `usr/bin/id`), minus busybox."""
    try:
        listing = subprocess.run(
            [str(busybox), "--list-full"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemFault(f"cannot list the applets of {busybox}: {exc}") from exc
    applets = [Path(line.strip()) for line in listing.splitlines() if line.strip()]
    applets = [path for path in applets if path.name != "busybox"]
    if not applets:
        raise InvalidArgument(f"{busybox} --list-full printed no applets", hint=_INSTALL_HINT)
    return applets


def _symlink_to_busybox(root: Path, link: Path) -> None:
    """Make root/link a relative symlink to /bin/busybox, so it resolves from either side."""
    (root / link.parent).mkdir(parents=True, exist_ok=True)
    target = os.path.relpath("bin/busybox", start=link.parent)
    try:
        os.symlink(target, root / link)
    except FileExistsError:
        pass


def _write_text(path: Path, text: str, mode: int) -> None:
    path.write_text(text)
    path.chmod(mode)


# --- images ---------------------------------------------------------------------------------

# The PATH every official image sets, so that commands resolve the same way in all of them.
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"
_DEBOOTSTRAP_HINT = "install it with: apt-get install debootstrap"

# Left out of a Debian layer: the engine provides these per container, or they are caches.
_DEBIAN_EMPTIED = (
    "dev", "proc", "sys", "run", "tmp", "var/lib/apt/lists", "var/cache/apt", "var/log",
)
_DEBIAN_REMOVED = ("etc/resolv.conf", "etc/hostname", "etc/hosts")

Runner = Callable[[Sequence[str]], None]


def bootstrap_busybox(
    store: ImageStore, *, tag: str = "busybox:latest", busybox: Path = Path("/bin/busybox")
) -> Image:
    """Make a one-layer busybox image from the host's static busybox and tag it.

    The image is reproducible: built twice from the same binary, it has the same id.
    """
    busybox = Path(busybox)
    with tempfile.TemporaryDirectory(prefix="estiba-busybox-") as tmp:
        rootfs = busybox_rootfs(Path(tmp) / "rootfs", busybox)
        stamp = int(busybox.stat().st_mtime)
        layer, diff_id = layer_from_dir(rootfs, store.content, mtime=stamp, ids=_busybox_owners())
    created = datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _bootstrap_image(
        store,
        layer,
        diff_id,
        created=created,
        created_by=f"estiba image bootstrap busybox (from {busybox})",
        cmd=("sh",),
        tags=[tag],
    )


def bootstrap_debian(
    store: ImageStore,
    suite: str = "bookworm",
    *,
    tag: str = "debian:bookworm",
    also_latest: bool = True,
    mirror: str | None = None,
    workdir: Path = Path("/var/tmp"),
    debootstrap: str = "debootstrap",
    run: Runner | None = None,
) -> Image:
    """Make a one-layer Debian image with `debootstrap --variant=minbase` and tag it.

    The tree is built in a temporary directory under `workdir`, removed afterwards. Needs
    root and the network (about 40 s); `run` replaces the debootstrap call in tests.
    """
    mirror = mirror or apt_mirror()
    runner = run or _run_debootstrap
    target = Path(tempfile.mkdtemp(prefix="estiba-debootstrap-", dir=workdir))
    try:
        argv = [debootstrap, "--variant=minbase", suite, str(target), mirror]
        runner(argv)
        _trim_debian(target)
        layer, diff_id = layer_from_dir(target, store.content)
    finally:
        _remove_tree(target)
    return _bootstrap_image(
        store,
        layer,
        diff_id,
        created=None,
        created_by=" ".join(["debootstrap", "--variant=minbase", suite, mirror]),
        cmd=("bash",),
        tags=[tag, "debian:latest"] if also_latest else [tag],
    )


def apt_mirror(suite: str = "bookworm", apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror apt on this host uses for `suite`, or deb.debian.org."""
    candidates: list[tuple[str, list[str]]] = []
    for sources in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        for stanza in _read(sources).split("\n\n"):
            fields = dict(
                (key.strip().lower(), value.strip())
                for key, sep, value in (line.partition(":") for line in stanza.splitlines())
                if sep and not key.startswith("#")
            )
            if "deb" in fields.get("types", "").split():
                for uri in fields.get("uris", "").split():
                    candidates.append((uri, fields.get("suites", "").split()))
    lists = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for path in lists:
        for line in _read(path).splitlines():
            words = [w for w in line.split() if not w.startswith("[")] if line.strip() else []
            if len(words) >= 3 and words[0] == "deb":
                candidates.append((words[1], [words[2]]))
    for uri, suites in candidates:
        if suite in suites and "security" not in uri:
            return uri.rstrip("/")
    return DEFAULT_DEBIAN_MIRROR


def _bootstrap_image(
    store: ImageStore,
    layer: Descriptor,
    diff_id: str,
    *,
    created: str | None,
    created_by: str,
    cmd: tuple[str, ...],
    tags: list[str],
) -> Image:
    created = created or now_rfc3339()
    platform = host_platform()
    config = ImageConfig(
        architecture=platform.architecture,
        os=platform.os,
        variant=platform.variant,
        config=ContainerConfig(env=(DEFAULT_PATH,), cmd=cmd),
        diff_ids=(diff_id,),
        history=(
            History(created=created, created_by=created_by),
            History(created=created, created_by=f"CMD {json.dumps(list(cmd))}", empty_layer=True),
        ),
        created=created,
    )
    manifest = write_image(store.content, config, [layer])
    return store.add(manifest.digest, refs=tags)


def _busybox_owners() -> IdMap | None:
    """Without root the files are ours: record them as root's, and /home/estiba as estiba's."""
    if os.geteuid() == 0:
        return None
    me = os.geteuid()

    def owner(path: str, uid: int, gid: int) -> tuple[int, int]:
        if path == "home/estiba":
            return 1000, 1000
        return (0 if uid == me else uid), (0 if uid == me else gid)

    return owner


def _run_debootstrap(argv: Sequence[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise NotFound(f"{argv[0]} is not installed", hint=_DEBOOTSTRAP_HINT)
    if os.geteuid() != 0:
        raise Unavailable("debootstrap needs root", hint="run the bootstrap as root")
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, errors="replace")
    except OSError as exc:
        raise SystemFault(f"cannot run {argv[0]}: {exc.strerror}") from exc
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise Unavailable(f"debootstrap failed (exit {result.returncode}): {last[0]}")


def _trim_debian(root: Path) -> None:
    for rel in _DEBIAN_EMPTIED:
        directory = root / rel
        if directory.is_dir() and not directory.is_symlink():
            for child in directory.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    for rel in _DEBIAN_REMOVED:
        (root / rel).unlink(missing_ok=True)


def _remove_tree(target: Path) -> None:
    """Remove the debootstrap target, after unmounting anything a failed run left in it."""
    mounts = _mounts_under(target)
    for mount in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True)
    if _mounts_under(target):
        raise SystemFault(f"{target} still has mounts in it: unmount them, then remove it")
    shutil.rmtree(target, ignore_errors=True)


def _mounts_under(target: Path) -> list[str]:
    prefix = str(target.resolve()) + "/"
    found = []
    for line in _read(Path("/proc/self/mountinfo")).splitlines():
        fields = line.split()
        if len(fields) > 4 and (fields[4] + "/").startswith(prefix):
            found.append(fields[4])
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
