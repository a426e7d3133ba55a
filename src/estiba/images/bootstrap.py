"""Image bootstrap: build a minimal root filesystem from the host's static busybox.

The rootfs holds one real file (a copy of busybox, which must be statically linked so it
runs without a libc in the container), a symlink per applet and the handful of files in
/etc that tools look up (users, groups, hostname). It needs no privileges.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

from estiba.errors import InvalidArgument, NotFound, SystemFault

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
