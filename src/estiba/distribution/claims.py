"""Which blobs running pulls rely on, so that a failed pull takes back only what nobody
else needs: the blobs it fetched are "abandoned", and removed by whichever pull lets go
of them last, if by then no image holds them (one that succeeded may)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


class BlobClaims:
    """Counts per blob digest; used from the event loop only (no locking)."""

    def __init__(self) -> None:
        self._count: Counter[str] = Counter()
        self._abandoned: set[str] = set()

    def claim(self, digests: Iterable[str]) -> None:
        for digest in set(digests):
            self._count[digest] += 1

    def abandon(self, digests: Iterable[str]) -> None:
        """A failed pull fetched these: remove them once nobody claims them."""
        self._abandoned.update(digests)

    def release(self, digests: Iterable[str]) -> list[str]:
        """Let go; the abandoned blobs nobody claims any more (to remove, unless an
        image holds them)."""
        free = []
        for digest in set(digests):
            self._count[digest] -= 1
            if self._count[digest] <= 0:
                del self._count[digest]
                if digest in self._abandoned:
                    self._abandoned.discard(digest)
                    free.append(digest)
        return sorted(free)

    def claimed(self, digest: str) -> bool:
        return self._count[digest] > 0 if digest in self._count else False
