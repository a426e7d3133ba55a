"""One conformance suite for every ContentStore implementation (local on disk, in memory)."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from estiba.content import (
    ContentStore,
    ContentWriter,
    Descriptor,
    LocalContentStore,
    MemoryContentStore,
    read_blob,
    sha256_digest,
)
from estiba.errors import InvalidArgument, NotFound

DATA = b"hello, estiba\n"
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()
MISSING = "sha256:" + "0" * 64


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ContentStore:
    if request.param == "local":
        return LocalContentStore(tmp_path / "content")
    return MemoryContentStore()


def test_implements_the_protocol(store: ContentStore) -> None:
    assert isinstance(store, ContentStore)
    with store.writer() as writer:
        assert isinstance(writer, ContentWriter)


def test_write_bytes_returns_descriptor(store: ContentStore) -> None:
    desc = store.write(DATA, media_type="text/plain")
    assert desc == Descriptor("text/plain", DIGEST, len(DATA))
    assert store.exists(DIGEST)
    assert store.info(DIGEST) == Descriptor("application/octet-stream", DIGEST, len(DATA))
    with store.open(DIGEST) as reader:
        assert reader.read() == DATA


def test_write_stream_with_expected_digest_and_size(store: ContentStore) -> None:
    big = os.urandom(3 * (1 << 20) + 17)
    desc = store.write(io.BytesIO(big), expected=sha256_digest(big), size=len(big))
    assert desc.size == len(big)
    with store.open(desc.digest) as reader:
        assert hashlib.sha256(reader.read()).hexdigest() == desc.hex


def test_digest_mismatch_names_expected_and_got(store: ContentStore) -> None:
    with pytest.raises(InvalidArgument) as info:
        store.write(DATA, expected=MISSING)
    assert MISSING in str(info.value) and DIGEST in str(info.value)
    assert "\n" not in str(info.value)
    assert not store.exists(DIGEST) and store.list() == []


@pytest.mark.parametrize("size", [len(DATA) - 1, len(DATA) + 1])
def test_size_mismatch_is_refused(store: ContentStore, size: int) -> None:
    with pytest.raises(InvalidArgument, match="size mismatch"):
        store.write(DATA, size=size)
    assert store.list() == []


def test_write_is_idempotent(store: ContentStore) -> None:
    first = store.write(DATA)
    second = store.write(DATA)
    third = store.write(io.BytesIO(DATA), expected=DIGEST, size=len(DATA))
    assert first == second == third
    assert [d.digest for d in store.list()] == [DIGEST]


def test_existing_blob_with_wrong_declared_size_is_refused(store: ContentStore) -> None:
    store.write(DATA)
    with pytest.raises(InvalidArgument, match="size mismatch"):
        store.write(DATA, expected=DIGEST, size=1)


def test_empty_blob(store: ContentStore) -> None:
    desc = store.write(b"")
    assert desc.digest == sha256_digest(b"") and desc.size == 0
    assert read_blob(store, desc.digest) == b""


def test_missing_blob_is_not_found(store: ContentStore) -> None:
    assert not store.exists(MISSING)
    for call in (store.open, store.info, store.delete):
        with pytest.raises(NotFound, match=MISSING):
            call(MISSING)


@pytest.mark.parametrize("bad", ["sha256:abc", "md5:" + "0" * 32, "sha256:" + "A" * 64, "", "x"])
def test_bad_digest_is_invalid(store: ContentStore, bad: str) -> None:
    with pytest.raises(InvalidArgument):
        store.exists(bad)
    with pytest.raises(InvalidArgument):
        store.write(DATA, expected=bad)


def test_delete_then_list(store: ContentStore) -> None:
    a = store.write(b"a")
    b = store.write(b"b")
    assert [d.digest for d in store.list()] == sorted([a.digest, b.digest])
    store.delete(a.digest)
    assert not store.exists(a.digest)
    assert [d.digest for d in store.list()] == [b.digest]


def test_writer_lifecycle(store: ContentStore) -> None:
    with store.writer(expected=DIGEST, size=len(DATA), media_type="x/y") as writer:
        writer.write(DATA[:5])
        assert writer.offset == 5
        assert not store.exists(DIGEST), "uncommitted content must stay invisible"
        writer.write(DATA[5:])
        assert writer.digest == DIGEST
        desc = writer.commit()
    assert desc == Descriptor("x/y", DIGEST, len(DATA))
    with pytest.raises(InvalidArgument, match="already committed"):
        writer.write(b"more")


def test_writer_aborts_on_exception(store: ContentStore) -> None:
    with pytest.raises(RuntimeError):
        with store.writer() as writer:
            writer.write(DATA)
            raise RuntimeError("boom")
    assert store.list() == []


def test_writer_refuses_bytes_past_declared_size(store: ContentStore) -> None:
    with store.writer(size=3) as writer:
        with pytest.raises(InvalidArgument, match="size mismatch"):
            writer.write(b"four")
    assert store.list() == []


def test_read_blob_limits_size(store: ContentStore) -> None:
    desc = store.write(b"x" * 100)
    assert read_blob(store, desc.digest) == b"x" * 100
    with pytest.raises(InvalidArgument, match="more than 10"):
        read_blob(store, desc.digest, max_size=10)


def test_write_rejects_non_streams(store: ContentStore) -> None:
    with pytest.raises(InvalidArgument, match="want bytes or a stream"):
        store.write("text")  # type: ignore[arg-type]


# --- local-only behaviour ------------------------------------------------------------------


def _local(tmp_path: Path) -> LocalContentStore:
    return LocalContentStore(tmp_path / "content")


def test_local_layout_and_read_only_blobs(tmp_path: Path) -> None:
    store = _local(tmp_path)
    desc = store.write(DATA)
    path = store.path(desc.digest)
    assert path == tmp_path / "content/blobs/sha256" / desc.hex
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert list((tmp_path / "content/ingest").iterdir()) == []
    with pytest.raises(NotFound):
        store.path(MISSING)


@pytest.mark.parametrize(
    "fail", [lambda s: s.write(DATA, expected=MISSING), lambda s: s.write(DATA, size=1)]
)
def test_local_failed_write_leaves_no_temp_file(
    tmp_path: Path, fail: Callable[[LocalContentStore], object]
) -> None:
    store = _local(tmp_path)
    with pytest.raises(InvalidArgument):
        fail(store)
    assert list((tmp_path / "content/ingest").iterdir()) == []
    assert list((tmp_path / "content/blobs/sha256").iterdir()) == []


def test_local_store_survives_reopen(tmp_path: Path) -> None:
    desc = _local(tmp_path).write(DATA)
    again = _local(tmp_path)
    assert again.info(desc.digest).size == len(DATA)


def test_local_list_ignores_stray_files(tmp_path: Path) -> None:
    store = _local(tmp_path)
    (tmp_path / "content/blobs/sha256/not-a-digest").write_text("x")
    assert store.list() == []


def test_local_existing_blob_does_not_consume_stream(tmp_path: Path) -> None:
    store = _local(tmp_path)
    store.write(DATA)
    stream = io.BytesIO(DATA)
    store.write(stream, expected=DIGEST)
    assert stream.tell() == 0


def test_local_removes_stale_ingests_on_open(tmp_path: Path) -> None:
    _local(tmp_path)
    ingest = tmp_path / "content/ingest"
    (ingest / "ingest-old").write_bytes(b"half")
    (ingest / "ingest-new").write_bytes(b"half")
    os.utime(ingest / "ingest-old", (0, 0))
    _local(tmp_path)
    assert [p.name for p in ingest.iterdir()] == ["ingest-new"]
