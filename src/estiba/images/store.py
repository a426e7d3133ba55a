"""The image store: which images exist and what names point at them, in SQLite (WAL).

An image is identified by its config digest and made of blobs in the content store (the
manifest, the config, the layers). This store keeps the image records, the references
(`docker.io/library/busybox:latest`, `name@sha256:…`) and which blobs each image holds, so
that removing an image can release the blobs no other image shares.

Every change is one transaction; blobs are written before the record that names them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timezone

from estiba.content import ContentStore, Descriptor, read_blob
from estiba.errors import Conflict, InvalidArgument, NotFound
from estiba.images import mediatypes as mt
from estiba.images._records import (
    HistoryItem,
    Image,
    ImageFilters,
    ImageUser,
    RemoveReport,
    short_id,
    unix_time,
)
from estiba.images._db import open_db, transaction
from estiba.images._filters import filtered
from estiba.images._removal import plan_removal
from estiba.images.layers import unpacked_size
from estiba.images.manifest import Manifest, parse_manifest
from estiba.images.model import ImageConfig
from estiba.images.reference import Reference, is_image_id, parse_reference


def _no_users(image_id: str) -> Sequence[ImageUser]:
    return ()


class ImageStore:
    """Images and their references, over a content store.

    `users(image_id)` tells which containers use an image; the engine provides it so that
    `remove` refuses (Conflict) to pull an image from under a container.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        content: ContentStore,
        *,
        users: Callable[[str], Sequence[ImageUser]] = _no_users,
    ) -> None:
        self.content = content
        self._users = users
        self._lock = threading.RLock()
        self._db = open_db(db_path)

    def close(self) -> None:
        self._db.close()

    # --- adding and naming -------------------------------------------------------------

    def add(
        self,
        manifest_digest: str,
        *,
        refs: Iterable[str | Reference] = (),
        parent: str | None = None,
        verified: Mapping[str, tuple[str, int]] | None = None,
    ) -> Image:
        """Record the image whose manifest blob is `manifest_digest`, with these references.

        The manifest, its config and its layers must already be in the content store; each
        layer is checked against its diff_id (once per blob) and its unpacked size recorded.
        An image already known by its config digest gets this manifest and the new references.
        `verified` (layer blob digest -> (diff_id, tar size)) names layers the caller has
        already hashed uncompressed, such as a pull while it downloaded them.
        """
        manifest, media_type, size = self._read_manifest(manifest_digest)
        config = ImageConfig.from_bytes(read_blob(self.content, manifest.config.digest))
        if len(manifest.layers) != len(config.diff_ids):
            raise InvalidArgument(
                f"image {manifest.config.digest} has {len(manifest.layers)} layers "
                f"but its config lists {len(config.diff_ids)} diff_ids"
            )
        for layer in manifest.layers:
            mt.layer_compression(layer.media_type)
            self._require_blob(layer.digest, "layer")
        references = [_as_reference(ref) for ref in refs]
        image_id = manifest.config.digest
        sizes = self._verify_layers(manifest.layers, config.diff_ids, verified or {})
        total = sum(sizes.values())
        blobs = {manifest_digest, image_id, *(layer.digest for layer in manifest.layers)}
        with self._transaction() as db:
            if parent is not None and not self._exists(db, parent):
                raise NotFound(f"parent image {parent} not found")
            db.execute(
                "INSERT INTO images (id, manifest_digest, manifest_media_type, manifest_size,"
                " created, size, labels, parent, added_at) VALUES (?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(id) DO UPDATE SET manifest_digest=excluded.manifest_digest,"
                " manifest_media_type=excluded.manifest_media_type,"
                " manifest_size=excluded.manifest_size, size=excluded.size,"
                " parent=COALESCE(excluded.parent, images.parent)",
                (
                    image_id,
                    manifest_digest,
                    media_type,
                    size,
                    config.created,
                    total,
                    json.dumps(dict(config.config.labels), sort_keys=True),
                    parent,
                    datetime.now(timezone.utc).isoformat(),
                ),
            )
            db.executemany(
                "INSERT OR IGNORE INTO image_blobs (image_id, digest) VALUES (?, ?)",
                [(image_id, digest) for digest in sorted(blobs)],
            )
            db.executemany(
                "INSERT OR REPLACE INTO image_layers (digest, diff_id, size) VALUES (?, ?, ?)",
                [
                    (layer.digest, diff_id, sizes[layer.digest])
                    for layer, diff_id in zip(manifest.layers, config.diff_ids, strict=True)
                ],
            )
            for ref in references:
                self._set_ref(db, ref, image_id)
        return self.get(image_id)

    def tag(self, image: str, ref: str | Reference) -> Reference:
        """Point the tag `ref` at `image` (moving it if it pointed elsewhere)."""
        reference = _as_reference(ref)
        if reference.digest is not None:
            raise InvalidArgument(f"refusing to create a tag with a digest reference: {ref}")
        with self._transaction() as db:
            image_id = self._resolve(db, image)
            self._set_ref(db, reference, image_id)
        return reference

    def untag(self, ref: str | Reference) -> Reference:
        """Remove the reference (tag or digest); the image itself stays."""
        reference = _as_reference(ref)
        with self._transaction() as db:
            if db.execute("DELETE FROM image_refs WHERE ref = ?", (str(reference),)).rowcount == 0:
                raise NotFound(f"No such image: {reference.familiar()}")
        return reference

    # --- reading -----------------------------------------------------------------------

    def get(self, ref_or_id: str) -> Image:
        """An image by reference, full id, or unique id prefix (`sha256:` optional)."""
        with self._lock:
            image_id = self._resolve(self._db, ref_or_id)
            return self._load(self._db, image_id)

    def exists(self, ref_or_id: str) -> bool:
        try:
            self.get(ref_or_id)
        except NotFound:
            return False
        return True

    def list(self, filters: ImageFilters | None = None) -> list[Image]:
        """Images, newest first, filtered as `docker images` does."""
        filters = filters or ImageFilters()
        with self._lock:
            ids = [row["id"] for row in self._db.execute("SELECT id FROM images")]
            images = [self._load(self._db, image_id) for image_id in ids]
            parents = {row["parent"] for row in self._db.execute("SELECT parent FROM images")}
        result = []
        for image in images:
            listed = filtered(image, filters, has_children=image.id in parents)
            if listed is not None:
                result.append(listed)
        return sorted(result, key=lambda i: (unix_time(i.created), i.id), reverse=True)

    def manifest(self, image: str) -> Manifest:
        manifest, _, _ = self._read_manifest(self.get(image).manifest.digest)
        return manifest

    def config(self, image: str) -> ImageConfig:
        return ImageConfig.from_bytes(read_blob(self.content, self.get(image).id))

    def layers(self, image: str) -> list[tuple[str, Descriptor]]:
        """(diff_id, layer blob descriptor) for each layer, bottom first."""
        record = self.get(image)
        manifest, _, _ = self._read_manifest(record.manifest.digest)
        config = ImageConfig.from_bytes(read_blob(self.content, record.id))
        return list(zip(config.diff_ids, manifest.layers, strict=True))

    def history(self, image: str) -> list[HistoryItem]:
        """`docker history`: newest step first; ids and tags along the parent chain."""
        record = self.get(image)
        config = self.config(record.id)
        sizes = iter(self._layer_size(layer.digest) for _, layer in self.layers(record.id))
        steps = []
        for entry in config.history:
            size = 0 if entry.empty_layer else next(sizes, 0)
            steps.append((entry, size))
        items = []
        chain: Image | None = record
        for entry, size in reversed(steps):
            items.append(
                HistoryItem(
                    id=chain.id if chain else "<missing>",
                    created=unix_time(entry.created),
                    created_by=entry.created_by,
                    tags=chain.repo_tags if chain else (),
                    size=size,
                    comment=entry.comment,
                )
            )
            chain = self._parent_of(chain)
        return items

    def blob_referenced(self, digest: str) -> bool:
        """Whether any recorded image holds the blob (a failed pull removes only others)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM image_blobs WHERE digest = ?", (digest,)
            ).fetchone()
        return row is not None

    # --- removing ----------------------------------------------------------------------

    def remove(self, image: str, *, force: bool = False, noprune: bool = False) -> RemoveReport:
        """`docker rmi`: untag, and delete the image once nothing names or uses it.

        Unused blobs of deleted images are removed from the content store.
        """
        report = RemoveReport()
        orphans: set[str] = set()
        with self._transaction() as db:
            image_id = self._resolve(db, image)
            by_id = _is_id_prefix(image_id, image)
            given = None if by_id else _as_reference(image)
            plan = plan_removal(
                image_id=image_id,
                given=given,
                refs=self._refs(db, image_id),
                users=list(self._users(image_id)),
                has_children=self._has_children(db, image_id),
                force=force,
            )
            for ref in plan.untag:
                db.execute("DELETE FROM image_refs WHERE ref = ?", (str(ref),))
                report.untagged.append(ref.familiar())
            target: str | None = image_id if plan.delete else None
            while target is not None:
                parent = db.execute("SELECT parent FROM images WHERE id = ?", (target,)).fetchone()[
                    0
                ]
                orphans |= self._delete_record(db, target)
                report.deleted.append(target)
                target = None if noprune else self._prunable_parent(db, parent)
        for digest in sorted(orphans):
            if self.content.exists(digest):
                self.content.delete(digest)
        return report

    # --- internals ---------------------------------------------------------------------

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self._lock)

    def _read_manifest(self, digest: str) -> tuple[Manifest, str, int]:
        data = self._require_blob(digest, "manifest")
        parsed = parse_manifest(data)
        if not isinstance(parsed, Manifest):
            raise InvalidArgument(f"{digest} is an index: add the manifest for one platform")
        if parsed.config.media_type not in mt.CONFIGS:
            raise InvalidArgument(
                f"unsupported image config media type {parsed.config.media_type!r}"
            )
        return parsed, parsed.media_type, len(data)

    def _verify_layers(
        self,
        layers: Sequence[Descriptor],
        diff_ids: Sequence[str],
        verified: Mapping[str, tuple[str, int]],
    ) -> dict[str, int]:
        """The unpacked size of each layer blob, after checking it unpacks to its diff_id."""
        sizes: dict[str, int] = {}
        for layer, diff_id in zip(layers, diff_ids, strict=True):
            with self._lock:
                row = self._db.execute(
                    "SELECT size FROM image_layers WHERE digest = ? AND diff_id = ?",
                    (layer.digest, diff_id),
                ).fetchone()
            known = verified.get(layer.digest)
            if row is not None:
                sizes[layer.digest] = row[0]
            elif known is not None and known[0] == diff_id:
                sizes[layer.digest] = known[1]
            else:  # an uncompressed layer is read too: its files' size, not its tar's
                sizes[layer.digest] = unpacked_size(self.content, layer, diff_id)
        return sizes

    def _layer_size(self, digest: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT size FROM image_layers WHERE digest = ?", (digest,)
            ).fetchone()
        return row[0] if row else 0

    def _require_blob(self, digest: str, what: str) -> bytes:
        if not self.content.exists(digest):
            raise NotFound(f"{what} blob {digest} is not in the content store: write it first")
        return read_blob(self.content, digest) if what == "manifest" else b""

    def _set_ref(self, db: sqlite3.Connection, ref: Reference, image_id: str) -> None:
        db.execute(
            "INSERT INTO image_refs (ref, name, is_digest, image_id) VALUES (?,?,?,?)"
            " ON CONFLICT(ref) DO UPDATE SET image_id = excluded.image_id",
            (str(ref), ref.name, ref.digest is not None, image_id),
        )

    def _resolve(self, db: sqlite3.Connection, text: str) -> str:
        if is_image_id(text):
            image_id = text if text.startswith("sha256:") else "sha256:" + text
            if self._exists(db, image_id):
                return image_id
            raise NotFound(f"No such image: {text}")
        try:
            reference = parse_reference(text)
        except InvalidArgument:
            reference = None
        if reference is not None:
            row = db.execute(
                "SELECT image_id FROM image_refs WHERE ref = ?", (str(reference),)
            ).fetchone()
            if row is not None:
                return row[0]
        prefix = text.removeprefix("sha256:")
        if prefix and all(c in "0123456789abcdef" for c in prefix):
            rows = db.execute(
                "SELECT id FROM images WHERE substr(id, 8, ?) = ?", (len(prefix), prefix)
            ).fetchall()
            if len(rows) > 1:
                raise Conflict(f"image id prefix {prefix!r} is ambiguous: give more characters")
            if rows:
                return rows[0][0]
        raise NotFound(f"No such image: {text}")

    def _exists(self, db: sqlite3.Connection, image_id: str) -> bool:
        return db.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone() is not None

    def _refs(self, db: sqlite3.Connection, image_id: str) -> list[Reference]:
        rows = db.execute("SELECT ref FROM image_refs WHERE image_id = ? ORDER BY ref", (image_id,))
        return [parse_reference(row[0], default_tag=False) for row in rows]

    def _has_children(self, db: sqlite3.Connection, image_id: str) -> bool:
        return (
            db.execute("SELECT 1 FROM images WHERE parent = ?", (image_id,)).fetchone() is not None
        )

    def _load(self, db: sqlite3.Connection, image_id: str) -> Image:
        row = db.execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()
        if row is None:
            raise NotFound(f"No such image: {image_id}")
        refs = self._refs(db, image_id)
        return Image(
            id=row["id"],
            manifest=Descriptor(
                row["manifest_media_type"], row["manifest_digest"], row["manifest_size"]
            ),
            created=row["created"],
            size=row["size"],
            labels=json.loads(row["labels"]),
            parent=row["parent"],
            added_at=row["added_at"],
            repo_tags=tuple(r.familiar() for r in refs if r.digest is None),
            repo_digests=tuple(r.familiar() for r in refs if r.digest is not None),
        )

    def _parent_of(self, image: Image | None) -> Image | None:
        if image is None or image.parent is None:
            return None
        with self._lock:
            try:
                return self._load(self._db, image.parent)
            except NotFound:
                return None

    def _delete_record(self, db: sqlite3.Connection, image_id: str) -> set[str]:
        """Delete the image row; return the blobs no remaining image holds."""
        blobs = {
            row[0]
            for row in db.execute("SELECT digest FROM image_blobs WHERE image_id = ?", (image_id,))
        }
        db.execute("UPDATE images SET parent = NULL WHERE parent = ?", (image_id,))
        db.execute("DELETE FROM images WHERE id = ?", (image_id,))
        orphans = {
            digest
            for digest in blobs
            if db.execute("SELECT 1 FROM image_blobs WHERE digest = ?", (digest,)).fetchone()
            is None
        }
        db.executemany("DELETE FROM image_layers WHERE digest = ?", [(d,) for d in orphans])
        return orphans

    def _prunable_parent(self, db: sqlite3.Connection, parent: str | None) -> str | None:
        """The parent, if nothing names it, no other image builds on it and no container uses it."""
        if parent is None or not self._exists(db, parent):
            return None
        if self._refs(db, parent) or self._has_children(db, parent) or list(self._users(parent)):
            return None
        return parent


def _as_reference(ref: str | Reference) -> Reference:
    if isinstance(ref, Reference):
        return ref if ref.tag or ref.digest else ref.with_tag("latest")
    return parse_reference(ref)


def _is_id_prefix(image_id: str, text: str) -> bool:
    """Whether the user named the image by (a prefix of) its id rather than by a reference."""
    return image_id.startswith(text) or image_id.removeprefix("sha256:").startswith(text)


__all__ = ["ImageStore", "short_id"]
