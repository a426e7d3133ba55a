"""Diff_ids hashed while a layer downloads, whatever its compression."""

from __future__ import annotations

import gzip
import hashlib
import os

import pytest
import zstandard

from estiba.distribution.diffids import DiffIdHasher

TAR = os.urandom(200_000) + b"\0" * 50_000
EXPECTED = ("sha256:" + hashlib.sha256(TAR).hexdigest(), len(TAR))


def feed(blob: bytes, step: int = 4099) -> tuple[str, int] | None:
    hasher = DiffIdHasher()
    for start in range(0, len(blob), step):
        hasher.update(blob[start : start + step])
    return hasher.result()


@pytest.mark.parametrize(
    "blob",
    [
        gzip.compress(TAR),
        gzip.compress(TAR[:1000]) + gzip.compress(TAR[1000:]),  # two gzip members
        zstandard.ZstdCompressor().compress(TAR),
        TAR,
    ],
    ids=["gzip", "gzip-members", "zstd", "plain"],
)
def test_diff_id_of_each_compression(blob: bytes) -> None:
    assert feed(blob) == EXPECTED
    assert feed(blob, step=3) == EXPECTED  # the magic bytes split across chunks


def test_cut_short_or_corrupt_gives_none() -> None:
    blob = gzip.compress(TAR)
    assert feed(blob[: len(blob) // 2]) is None
    assert feed(blob[:10] + b"\xff" * 100 + blob[110:]) is None
    import bz2

    assert feed(bz2.compress(TAR)) is None  # followed by the store's own check instead
