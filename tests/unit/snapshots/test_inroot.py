"""Paths resolved inside a root, and tar streams in and out of it: symlinks and `..` placed
in the tree or in an archive never reach outside."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from estiba.errors import Conflict, InvalidArgument, NotFound
from estiba.snapshots.archive import tar_reader
from estiba.snapshots.copyio import ExtractOptions, entry_parts, extract_tar, tar_path
from estiba.snapshots.inroot import Root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("container's\n")
    (root / "escape").symlink_to("/")
    (root / "up").symlink_to("../../..")
    (root / "abs").symlink_to("/etc/passwd")
    (tmp_path / "secret").write_text("host's\n")
    return root


def test_symlinks_resolve_inside_the_root(tree: Path) -> None:
    with Root(tree) as root:
        assert root.resolve("/escape/etc/passwd") == "/etc/passwd"
        assert root.resolve("/up/secret") == "/secret"
        assert root.resolve("/abs") == "/etc/passwd"
        assert root.resolve("/abs", follow=False) == "/abs"
        fd = root.open("/escape/etc/passwd")
        try:
            assert os.stat(f"/proc/self/fd/{fd}").st_ino == (tree / "etc" / "passwd").stat().st_ino
        finally:
            os.close(fd)
        with pytest.raises(NotFound):
            os.close(root.open("/up/secret"))
        with pytest.raises(NotFound):
            os.close(root.open("/../secret"))


def test_symlink_loops_end(tree: Path) -> None:
    (tree / "loop").symlink_to("loop")
    with Root(tree) as root, pytest.raises(InvalidArgument):
        root.open("/loop/x")


def _tar(*entries: tuple[str, bytes | None, str]) -> io.BytesIO:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, content, link in entries:
            info = tarfile.TarInfo(name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    data.seek(0)
    return data


@pytest.mark.parametrize("name", ["../secret", "a/../../secret", "/../secret"])
def test_entries_outside_the_destination_are_refused(name: str) -> None:
    with pytest.raises(InvalidArgument):
        entry_parts(name)


def test_extract_follows_symlinks_only_inside_the_root(tree: Path, tmp_path: Path) -> None:
    with Root(tree) as root:
        extract_tar(root, "/", _tar(("escape/secret", b"evil", ""), ("new/file", b"ok", "")))
    assert (tmp_path / "secret").read_text() == "host's\n"
    assert (tree / "secret").read_bytes() == b"evil"  # /escape is / of the root
    assert (tree / "new" / "file").read_bytes() == b"ok"


def test_extract_a_symlink_then_through_it(tree: Path, tmp_path: Path) -> None:
    with Root(tree) as root:
        extract_tar(root, "/", _tar(("link", None, str(tmp_path)), ("link2", None, "/"), ("link2/x", b"y", "")))
    assert (tree / "x").read_bytes() == b"y"
    assert (tree / "link").is_symlink() and not (tmp_path / "x").exists()


def test_no_overwrite_dir_non_dir(tree: Path) -> None:
    with Root(tree) as root:
        with pytest.raises(Conflict):
            extract_tar(root, "/", _tar(("etc", b"file now", "")), ExtractOptions(no_overwrite_dir_non_dir=True))
        extract_tar(root, "/", _tar(("etc/passwd", b"replaced", "")), ExtractOptions(no_overwrite_dir_non_dir=True))
    assert (tree / "etc" / "passwd").read_bytes() == b"replaced"


def test_tar_path_names_entries_after_the_rebase(tree: Path) -> None:
    with Root(tree) as root:
        names = tarfile.open(fileobj=tar_reader(tar_path(root, "/etc", "conf")), mode="r|").getnames()
        assert names == ["conf", "conf/passwd"]
        names = tarfile.open(fileobj=tar_reader(tar_path(root, "/etc", "")), mode="r|").getnames()
        assert names == ["passwd"]
        with tarfile.open(fileobj=tar_reader(tar_path(root, "/escape", "escape")), mode="r|") as tar:
            (member,) = list(tar)
            assert member.issym() and member.linkname == "/"
