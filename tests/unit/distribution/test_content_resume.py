"""The content store's resumable ingestion (what a pull cut short keeps) and the claims
that decide which blobs a failed pull may take back."""

from __future__ import annotations

from pathlib import Path

import pytest

from estiba.content import LocalContentStore, sha256_digest
from estiba.distribution.claims import BlobClaims
from estiba.errors import InvalidArgument

DATA = b"0123456789" * 10_000
DIGEST = sha256_digest(DATA)


def partials(store: LocalContentStore) -> list[str]:
    return sorted(p.name for p in (store.root / "ingest").iterdir())


def test_suspend_then_resume_and_commit(tmp_path: Path) -> None:
    store = LocalContentStore(tmp_path)
    writer = store.resumable_writer(expected=DIGEST, size=len(DATA))
    writer.write(DATA[:30_000])
    writer.suspend()
    assert partials(store) == [DIGEST[7:] + ".partial"]
    assert not store.exists(DIGEST)

    again = store.resumable_writer(expected=DIGEST, size=len(DATA))
    assert again.offset == 30_000
    again.write(DATA[30_000:])
    assert again.commit().digest == DIGEST
    assert store.exists(DIGEST) and partials(store) == []


def test_a_second_writer_of_the_same_blob_gets_its_own_file(tmp_path: Path) -> None:
    store = LocalContentStore(tmp_path)
    first = store.resumable_writer(expected=DIGEST, size=len(DATA))
    first.write(DATA[:10])
    second = store.resumable_writer(expected=DIGEST, size=len(DATA))
    assert second.offset == 0
    second.write(DATA)
    second.commit()
    first.abort()
    assert partials(store) == []


def test_bad_kept_bytes_fail_verification_and_go(tmp_path: Path) -> None:
    store = LocalContentStore(tmp_path)
    (store.root / "ingest" / (DIGEST[7:] + ".partial")).write_bytes(b"x" * 100)
    writer = store.resumable_writer(expected=DIGEST, size=len(DATA))
    assert writer.offset == 100
    writer.write(DATA[100:])
    with pytest.raises(InvalidArgument):
        writer.commit()
    assert partials(store) == [] and not store.exists(DIGEST)


def test_discard_and_empty_suspend(tmp_path: Path) -> None:
    store = LocalContentStore(tmp_path)
    writer = store.resumable_writer(expected=DIGEST, size=len(DATA))
    writer.suspend()  # nothing written: nothing kept
    assert partials(store) == []
    writer = store.resumable_writer(expected=DIGEST, size=len(DATA))
    writer.write(DATA[:5])
    store.discard_resumable(DIGEST)  # in use: kept
    assert partials(store)
    writer.suspend()
    store.discard_resumable(DIGEST)
    assert partials(store) == []


def test_claims_free_abandoned_blobs_with_the_last_holder() -> None:
    claims = BlobClaims()
    claims.claim(["a", "b"])  # pull 1
    claims.claim(["b", "c"])  # pull 2
    claims.abandon(["a", "b"])  # pull 1 failed after fetching a and b
    assert claims.release(["a", "b"]) == ["a"]  # b is still pull 2's
    assert claims.claimed("b") and not claims.claimed("a")
    assert claims.release(["b", "c"]) == ["b"]  # the caller keeps it if an image holds it
    assert not claims.claimed("b")
