"""busybox_rootfs builds a usable rootfs from the host's static busybox, without root."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from estiba.errors import InvalidArgument, NotFound
from estiba.images import busybox_rootfs

BUSYBOX = Path("/bin/busybox")

needs_busybox = pytest.mark.skipif(
    not BUSYBOX.exists(), reason="busybox not installed (apt-get install busybox-static)"
)


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not BUSYBOX.exists():
        pytest.skip("busybox not installed (apt-get install busybox-static)")
    return busybox_rootfs(tmp_path_factory.mktemp("bootstrap") / "rootfs")


@needs_busybox
def test_busybox_is_a_copy_not_a_link(rootfs: Path) -> None:
    binary = rootfs / "bin/busybox"
    assert binary.is_file() and not binary.is_symlink()
    assert binary.stat().st_ino != BUSYBOX.stat().st_ino
    assert binary.stat().st_mode & 0o111
    assert binary.read_bytes() == BUSYBOX.read_bytes()


@needs_busybox
def test_every_applet_is_a_symlink_to_busybox(rootfs: Path) -> None:
    listed = subprocess.run(
        [str(BUSYBOX), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    applets = [name for name in listed if name != "busybox"]
    assert len(applets) > 100
    for name in applets:
        link = rootfs / "bin" / name
        assert link.is_symlink(), name
        assert os.readlink(link) == "busybox"
    # Canonical locations resolve inside the rootfs, from the host as from the container.
    assert os.readlink(rootfs / "usr/bin/id") == "../../bin/busybox"
    assert (rootfs / "usr/bin/id").resolve() == (rootfs / "bin/busybox").resolve()
    assert (rootfs / "sbin/init").is_symlink()


@needs_busybox
def test_applets_run(rootfs: Path) -> None:
    out = subprocess.run(
        [str(rootfs / "bin/sh"), "-c", "echo hi; true"], capture_output=True, text=True, check=True
    )
    assert out.stdout == "hi\n"


@needs_busybox
def test_directories_and_modes(rootfs: Path) -> None:
    for name in ["bin", "sbin", "usr/bin", "etc", "proc", "sys", "dev", "tmp", "root", "home", "var"]:
        assert (rootfs / name).is_dir(), name
    assert stat.S_IMODE((rootfs / "tmp").stat().st_mode) == 0o1777


@needs_busybox
def test_users_and_groups(rootfs: Path) -> None:
    passwd = {line.split(":")[0]: line.split(":") for line in (rootfs / "etc/passwd").read_text().splitlines()}
    assert {name: (f[2], f[3]) for name, f in passwd.items()} == {
        "root": ("0", "0"),
        "daemon": ("1", "1"),
        "estiba": ("1000", "1000"),
        "nobody": ("65534", "65534"),
    }
    groups = {line.split(":")[0]: line.split(":") for line in (rootfs / "etc/group").read_text().splitlines()}
    assert groups["root"][2] == "0"
    assert groups["daemon"][2] == "1"
    assert groups["users"][2] == "100"
    assert groups["estiba"][2] == "1000"
    assert groups["extra"][2:] == ["2000", "estiba"]
    assert (rootfs / "etc/hostname").read_text().strip()


@needs_busybox
def test_rebuilding_in_place_is_harmless(rootfs: Path) -> None:
    before = sorted(str(p.relative_to(rootfs)) for p in rootfs.rglob("*"))
    busybox_rootfs(rootfs)
    assert sorted(str(p.relative_to(rootfs)) for p in rootfs.rglob("*")) == before


def test_missing_busybox_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as info:
        busybox_rootfs(tmp_path / "rootfs", busybox=tmp_path / "no-busybox")
    assert "apt-get install busybox-static" in str(info.value)
    assert not (tmp_path / "rootfs").exists()


def test_dynamically_linked_binary_is_refused(tmp_path: Path) -> None:
    dynamic = Path("/bin/ls")  # any dynamically linked ELF will do
    if not dynamic.exists():
        pytest.skip("no /bin/ls")
    with pytest.raises(InvalidArgument, match="busybox-static"):
        busybox_rootfs(tmp_path / "rootfs", busybox=dynamic)


def test_non_elf_file_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "busybox"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(InvalidArgument):
        busybox_rootfs(tmp_path / "rootfs", busybox=script)
