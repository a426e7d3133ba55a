"""The CLI's context tar and the daemon's unpacking of it."""

from __future__ import annotations

import io
import tarfile

import pytest

from estiba.build.context import BuildContext, is_archive, open_context, pack_context
from estiba.errors import InvalidArgument, NotFound


def names(spool) -> set[str]:
    with tarfile.open(fileobj=spool) as tar:
        found = {m.name for m in tar.getmembers()}
    spool.seek(0)
    return found


def test_pack_leaves_out_ignored_files_but_keeps_dockerfile_and_dockerignore(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / ".dockerignore").write_text("Dockerfile\n.dockerignore\n*.log\n")
    (tmp_path / "a.log").write_text("x")
    (tmp_path / "app.py").write_text("y")
    spool, name = pack_context(tmp_path)
    assert name == "Dockerfile"
    assert names(spool) == {"Dockerfile", ".dockerignore", "app.py"}


def test_pack_a_dockerfile_outside_the_context_or_from_stdin(tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM a\n")
    (tmp_path / "Other").write_text("FROM other\n")
    spool, name = pack_context(context, str(tmp_path / "Other"))
    assert name.startswith(".dockerfile.") and name in names(spool)
    spool, name = pack_context(context, str(context / "Dockerfile"))
    assert name == "Dockerfile"
    spool, name = pack_context(tmp_path / "ctx", dockerfile_text=b"FROM stdin\n")
    assert name.startswith(".dockerfile.")
    empty = tmp_path / "empty"
    empty.mkdir()
    spool, name = pack_context(empty, dockerfile_text=b"FROM stdin\n")
    assert name == "Dockerfile"
    with pytest.raises(InvalidArgument, match="cannot find the Dockerfile"):
        pack_context(empty)


def test_open_context_unpacks_a_tar_or_takes_a_dockerfile(tmp_path):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = 13
        tar.addfile(info, io.BytesIO(b"FROM busybox\n"))
    data.seek(0)
    context = open_context(data, tmp_path / "work")
    try:
        assert context.read_dockerfile("Dockerfile") == "FROM busybox\n"
        with pytest.raises(InvalidArgument, match="Cannot locate specified Dockerfile: Nope"):
            context.read_dockerfile("Nope")
    finally:
        context.close()
    assert not context.root.exists()
    context = open_context(io.BytesIO(b"FROM plain\n"), tmp_path / "work")
    assert context.read_dockerfile("Dockerfile") == "FROM plain\n"
    context.close()
    assert is_archive(b"\0" * 1024) and not is_archive(b"FROM x\n")


def test_sources_stay_in_the_context(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "link").symlink_to("/etc")
    (tmp_path / "b.txt").write_text("b")
    context = BuildContext.at(tmp_path)
    assert [e.rel for e in context.sources("*.txt")] == ["a.txt", "b.txt"]
    with pytest.raises(NotFound, match="outside the build context"):
        context.sources("../x")
    with pytest.raises(NotFound, match="outside the build context"):
        context.sources("link/passwd")
    with pytest.raises(NotFound, match="not found"):
        context.sources("missing")


def test_a_tar_without_its_end_blocks_is_read(tmp_path):
    # The docker CLI's tar for `-f -` ends right after the last file's data.
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = 13
        tar.addfile(info, io.BytesIO(b"FROM busybox\n"))
    cut = io.BytesIO(data.getvalue()[: 512 + 13])
    context = open_context(cut, tmp_path / "work")
    try:
        assert context.read_dockerfile("Dockerfile") == "FROM busybox\n"
    finally:
        context.close()


def _context_with(directory, files):
    directory.mkdir()
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory


def test_a_context_is_unpacked_from_a_pipe_as_it_arrives(tmp_path):
    import threading

    from estiba.pipes import Pipe

    spool, _ = pack_context(_context_with(tmp_path / "ctx", {"Dockerfile": b"FROM x\n", "big": b"b" * 300_000}))
    data = spool.read()
    pipe = Pipe(limit=4096)  # smaller than the upload: the writer waits for room
    result = {}

    def unpack():
        try:
            result["context"] = open_context(pipe, tmp_path / "work")
        finally:
            pipe.abandon()

    reader = threading.Thread(target=unpack)
    reader.start()
    for start in range(0, len(data), 1000):
        if not pipe.put(data[start:start + 1000]):
            # The reader stopped at the end-of-archive blocks: only padding was left.
            assert not data[start:].strip(b"\0")
            break
    pipe.close()
    reader.join(10)
    context = result["context"]
    try:
        assert context.read_dockerfile("Dockerfile") == "FROM x\n"
        assert (context.root / "big").read_bytes() == b"b" * 300_000
    finally:
        context.close()


def test_a_bad_archive_from_a_pipe_is_one_error_and_leaves_nothing(tmp_path):
    from estiba.pipes import Pipe

    pipe = Pipe()
    pipe.put(b"\x1f\x8b" + b"not gzip at all" * 100)
    pipe.close()
    with pytest.raises(InvalidArgument, match="not a valid tar archive"):
        open_context(pipe, tmp_path / "work")
    assert list((tmp_path / "work").iterdir()) == []


def test_a_streamed_context_holds_what_a_packed_one_holds(tmp_path):
    from estiba.build.packing import plan_context, stream_context

    root = _context_with(tmp_path / "ctx", {"Dockerfile": b"FROM x\n", "a": b"a" * 70_000, "b.log": b"b"})
    (root / ".dockerignore").write_text("*.log\n")
    body = stream_context(plan_context(root))
    streamed = b""
    while chunk := body.read(4096):
        streamed += chunk
    body.close()
    spool, _ = pack_context(root)
    assert names(io.BytesIO(streamed)) == names(spool) == {"Dockerfile", ".dockerignore", "a"}
    with tarfile.open(fileobj=io.BytesIO(streamed)) as tar:
        assert tar.extractfile("a").read() == b"a" * 70_000


def test_a_failure_while_streaming_a_context_is_raised_not_cut_short(tmp_path, monkeypatch):
    from estiba.build import packing

    root = _context_with(tmp_path / "ctx", {"Dockerfile": b"FROM x\n", "a": b"a" * 50_000, "b": b"b"})
    real_add = packing._add

    def add(tar, entry):
        if entry.rel == "b":
            raise PermissionError(13, "Permission denied", entry.path)
        real_add(tar, entry)

    monkeypatch.setattr(packing, "_add", add)
    body = packing.stream_context(packing.plan_context(root))
    received = b""
    with pytest.raises(InvalidArgument, match="unable to prepare context: .*Permission denied"):
        while chunk := body.read(4096):
            received += chunk
    body.close()
    assert b"a" * 1000 in received  # what came before the failure was sent, then the error
