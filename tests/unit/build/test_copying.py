"""COPY/ADD into a root directory: Docker's destination rules, modes, archives, heredocs."""

from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from estiba.build.context import BuildContext
from estiba.build.copying import collect_context, write_into
from estiba.build.dockerfile import parse_dockerfile
from estiba.build.instructions import copy_spec

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="writes files owned by root")


def copy(context, root, line, workdir="/", env=None):
    instruction = parse_dockerfile(f"FROM b\n{line}\n").stages[0].commands[0]
    spec = copy_spec(instruction, env or {}, workdir)
    items = collect_context(spec, BuildContext.at(context), env or {})
    write_into(root, spec, items, None)


@pytest.fixture
def trees(tmp_path):
    context, root = tmp_path / "ctx", tmp_path / "root"
    (context / "dir" / "sub").mkdir(parents=True)
    (context / "dir" / "sub" / "f.txt").write_text("f")
    (context / "a.txt").write_text("a")
    os.chmod(context / "a.txt", 0o755)
    (root / "existing").mkdir(parents=True)
    return context, root


def test_destination_rules(trees):
    context, root = trees
    copy(context, root, "COPY a.txt /renamed")
    assert (root / "renamed").read_text() == "a"
    copy(context, root, "COPY a.txt /existing")
    assert (root / "existing" / "a.txt").read_text() == "a"
    copy(context, root, "COPY a.txt /new/dir/")
    assert (root / "new" / "dir" / "a.txt").is_file()
    copy(context, root, "COPY dir /contents")
    assert (root / "contents" / "sub" / "f.txt").read_text() == "f"
    assert not (root / "contents" / "dir").exists()  # a directory's contents, not itself
    copy(context, root, "COPY a.txt rel.txt", workdir="/work")
    assert (root / "work" / "rel.txt").is_file()
    assert stat.S_IMODE(os.stat(root / "renamed").st_mode) == 0o755


def test_chmod_and_wildcards(trees):
    context, root = trees
    copy(context, root, "COPY --chmod=600 *.txt /w/")
    assert stat.S_IMODE(os.stat(root / "w" / "a.txt").st_mode) == 0o600


def test_add_unpacks_a_local_archive(trees):
    context, root = trees
    with tarfile.open(context / "a.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("inner/x")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    copy(context, root, "ADD a.tar.gz /unpacked")
    assert (root / "unpacked" / "inner" / "x").read_text() == "x"
    copy(context, root, "COPY a.tar.gz /kept/")
    assert (root / "kept" / "a.tar.gz").is_file()  # COPY never unpacks


def test_heredoc_file(trees):
    context, root = trees
    text = "FROM b\nCOPY <<EOF /etc/greeting\nhello $WHO\nEOF\n"
    instruction = parse_dockerfile(text).stages[0].commands[0]
    spec = copy_spec(instruction, {}, "/")
    items = collect_context(spec, BuildContext.at(context), {"WHO": "you"})
    write_into(root, spec, items, (1, 2))
    path = root / "etc" / "greeting"
    assert path.read_text() == "hello you\n"
    assert (os.stat(path).st_uid, os.stat(path).st_gid) == (1, 2)
