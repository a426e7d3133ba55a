"""Content: blobs addressed by sha256, written atomically and verified on every write."""

from estiba.content.descriptor import (
    OCTET_STREAM,
    Descriptor,
    Platform,
    check_digest,
    digest_hex,
    sha256_digest,
)
from estiba.content.memory import MemoryContentStore
from estiba.content.store import (
    ContentStore,
    ContentWriter,
    LocalContentStore,
    read_blob,
    write_blob,
)

__all__ = [
    "OCTET_STREAM",
    "ContentStore",
    "ContentWriter",
    "Descriptor",
    "LocalContentStore",
    "MemoryContentStore",
    "Platform",
    "check_digest",
    "digest_hex",
    "read_blob",
    "sha256_digest",
    "write_blob",
]
