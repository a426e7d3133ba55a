"""`docker cp` and `estiba cp` both ways against estibad, for running and stopped
containers, with symlink and `..` escapes that must find no way out.

Needs root (mounts, namespaces); skipped otherwise.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.daemon.conftest import Estibad

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"), pytest.mark.timeout(180)]

SETUP = (
    "echo hi > /data.txt; mkdir -p /d/sub; echo x > /d/sub/f; chmod 0640 /d/sub/f; chown 12:34 /d/sub/f;"
    " ln -s / /escape; ln -s /etc /etclink; ln -s ../../../../.. /up; ln -s /data.txt /datalink;"
    " exec sleep 1000"
)


@pytest.fixture(scope="module")
def busybox(daemon: Estibad) -> Iterator[Estibad]:
    daemon.estiba("image", "bootstrap", "busybox")
    daemon.docker("run", "-d", "--name", "cp1", "busybox", "sh", "-c", SETUP)
    daemon.docker("exec", "cp1", "sh", "-c", "until [ -e /datalink ]; do sleep 0.05; done")
    yield daemon
    daemon.docker("rm", "-f", "cp1", check=False)


def test_copy_out_files_dirs_and_stdout(busybox: Estibad, tmp_path: Path) -> None:
    for cli in (busybox.docker, busybox.estiba):
        target = tmp_path / cli.__name__
        target.mkdir()
        cli("cp", "cp1:/data.txt", str(target / "copy.txt"))
        assert (target / "copy.txt").read_text() == "hi\n"
        cli("cp", "cp1:/d", str(target))
        assert (target / "d" / "sub" / "f").read_text() == "x\n"
        assert (target / "d" / "sub" / "f").stat().st_mode & 0o777 == 0o640
        cli("cp", "cp1:/d/.", str(target / "contents"))
        assert (target / "contents" / "sub" / "f").read_text() == "x\n"
        cli("cp", "-L", "cp1:/datalink", str(target / "followed"))
        assert (target / "followed").read_text() == "hi\n"
        cli("cp", "cp1:/datalink", str(target / "link"))
        assert os.readlink(target / "link") == "/data.txt"
        archive = busybox.docker("cp", "cp1:/etc/passwd", "-").stdout
        assert tarfile.open(fileobj=io.BytesIO(archive)).getnames() == ["passwd"]
    busybox.estiba("cp", "-a", "cp1:/d/sub/f", str(tmp_path / "owned"))
    owned = (tmp_path / "owned").stat()
    assert (owned.st_uid, owned.st_gid, owned.st_mode & 0o777) == (12, 34, 0o640)


def test_copy_in_keeps_owners_and_modes(busybox: Estibad, tmp_path: Path) -> None:
    (tmp_path / "mine").write_text("x")
    os.chown(tmp_path / "mine", 1234, 5678)
    os.chmod(tmp_path / "mine", 0o751)
    busybox.docker("cp", str(tmp_path / "mine"), "cp1:/tmp/mine")
    shown = busybox.docker("exec", "cp1", "stat", "-c", "%u:%g %a", "/tmp/mine").stdout
    assert shown == b"1234:5678 751\n"
    (tmp_path / "link").symlink_to("/etc/passwd")
    busybox.docker("cp", str(tmp_path / "link"), "cp1:/tmp/link")
    assert busybox.docker("exec", "cp1", "readlink", "/tmp/link").stdout == b"/etc/passwd\n"


def test_symlink_escapes_read_the_containers_files_only(busybox: Estibad, tmp_path: Path) -> None:
    # /escape -> / and /up -> ../../.. inside the container: the host's files are out of reach.
    assert Path("/etc/debian_version").exists()
    for path in ("/escape/etc/debian_version", "/up/etc/debian_version", "/etclink/debian_version"):
        result = busybox.docker("cp", f"cp1:{path}", str(tmp_path / "leak"), check=False)
        assert result.returncode != 0 and b"Could not find the file" in result.stderr
        assert not (tmp_path / "leak").exists()
    busybox.docker("cp", "cp1:/escape/etc/passwd", str(tmp_path / "passwd"))
    container_passwd = busybox.docker("exec", "cp1", "cat", "/etc/passwd").stdout
    assert (tmp_path / "passwd").read_bytes() == container_passwd


def _tar(*entries: tuple[str, str, bytes]) -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, link, content in entries:
            info = tarfile.TarInfo(name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return data.getvalue()


def test_copy_in_never_writes_outside(busybox: Estibad, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = _tar((f"../../../../../../..{marker}", "", b"evil"))
    result = busybox.docker("cp", "-", "cp1:/", input=evil, check=False)
    assert result.returncode != 0 and not marker.exists()
    # Through symlinks placed in the container: they resolve inside its root.
    busybox.docker("cp", "-", "cp1:/", input=_tar(("etclink/pwned2", "", b"evil")))
    assert not Path("/etc/pwned2").exists()
    assert busybox.docker("exec", "cp1", "cat", "/etc/pwned2").stdout == b"evil"
    busybox.docker("cp", "-", "cp1:/escape/tmp", input=_tar(("pwned3", "", b"evil")))
    assert not Path("/tmp/pwned3").exists()
    evil = _tar(("hostlink", str(tmp_path), b""), ("hostlink/pwned4", "", b"evil"))
    busybox.docker("cp", "-", "cp1:/", input=evil, check=False)
    assert not (tmp_path / "pwned4").exists()


def test_copy_in_files_and_dirs(busybox: Estibad, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "inner").mkdir(parents=True)
    (source / "inner" / "file").write_text("content\n")
    os.chmod(source / "inner" / "file", 0o600)
    (tmp_path / "one.txt").write_text("one\n")
    for index, cli in enumerate((busybox.docker, busybox.estiba)):
        cli("cp", str(tmp_path / "one.txt"), "cp1:/tmp/")
        cli("cp", str(tmp_path / "one.txt"), f"cp1:/tmp/renamed{index}.txt")
        cli("cp", str(source), f"cp1:/tmp/tree{index}")
        cli("cp", "-a", f"{source}/.", "cp1:/tmp/")
        listing = busybox.docker("exec", "cp1", "sh", "-c",
                                 f"cat /tmp/one.txt /tmp/renamed{index}.txt /tmp/tree{index}/inner/file;"
                                 f" stat -c %a /tmp/tree{index}/inner/file; cat /tmp/inner/file").stdout
        assert listing == b"one\none\ncontent\n600\ncontent\n"
    result = busybox.docker("cp", str(source), "cp1:/data.txt", check=False)
    assert result.returncode != 0


def test_stopped_containers_too(busybox: Estibad, tmp_path: Path) -> None:
    busybox.docker("create", "--name", "cp2", "busybox", "cat", "/in.txt")
    try:
        (tmp_path / "in.txt").write_text("from the host\n")
        busybox.docker("cp", str(tmp_path / "in.txt"), "cp2:/")
        busybox.estiba("cp", "cp2:/in.txt", str(tmp_path / "back.txt"))
        assert (tmp_path / "back.txt").read_text() == "from the host\n"
        assert busybox.docker("start", "-a", "cp2").stdout == b"from the host\n"
        with open("/proc/self/mountinfo") as mounts:
            assert "/exports/" not in mounts.read()
    finally:
        busybox.docker("rm", "-f", "cp2")


def test_missing_paths_and_read_only_roots(busybox: Estibad, tmp_path: Path) -> None:
    result = busybox.docker("cp", "cp1:/nope", str(tmp_path), check=False)
    assert b"Could not find the file /nope in container cp1" in result.stderr
    busybox.docker("create", "--name", "cp3", "--read-only", "busybox", "true")
    try:
        (tmp_path / "f").write_text("x")
        result = busybox.docker("cp", str(tmp_path / "f"), "cp3:/", check=False)
        assert result.returncode != 0 and b"read-only" in result.stderr
    finally:
        busybox.docker("rm", "cp3")
