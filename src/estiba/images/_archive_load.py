"""`docker load`: read a docker-archive (Docker 20.10's, or the OCI-layout one of Docker 25+).

Every blob is verified before anything is recorded: config files against their digest
(and name), layers against the config's diff_ids (after decompression) and, in OCI
layouts, every blob against its descriptor. Blobs go to the content store first; the
images are added once all of them are in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, BinaryIO

from estiba.content import Descriptor, sha256_digest
from estiba.errors import InvalidArgument, Unsupported
from estiba.images import mediatypes as mt
from estiba.images._archive_files import ArchiveFiles
from estiba.images._json import load_json
from estiba.images.layers import diff_id_of, uncompressed
from estiba.images.manifest import Index, Manifest, parse_manifest
from estiba.images.model import ImageConfig, host_platform
from estiba.images.reference import parse_reference
from estiba.images.store import ImageStore

IMAGE_NAME_ANNOTATION = "io.containerd.image.name"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class LoadedImage:
    """An image `load` added: its id and the tags it restored (`Loaded image: …`)."""

    id: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class _Pending:
    manifest: Descriptor
    tags: tuple[str, ...]


def load(store: ImageStore, stream: BinaryIO, *, tmpdir: str | None = None) -> list[LoadedImage]:
    """Load every image in the archive into `store`; return them in archive order."""
    with ArchiveFiles(stream, tmpdir=tmpdir) as files:
        if files.has("manifest.json"):
            pending = _from_docker_manifest(store, files)
        elif files.has("index.json"):
            pending = _from_oci_layout(store, files)
        else:
            raise InvalidArgument("invalid archive: no manifest.json or index.json in it")
    loaded = []
    for item in pending:
        image = store.add(item.manifest.digest, refs=item.tags)
        loaded.append(
            LoadedImage(image.id, tuple(parse_reference(t).familiar() for t in item.tags))
        )
    return loaded


# --- Docker's manifest.json -------------------------------------------------------------


def _from_docker_manifest(store: ImageStore, files: ArchiveFiles) -> list[_Pending]:
    body = _json_array(files.read("manifest.json"), "manifest.json")
    pending = []
    for entry in body:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
            raise InvalidArgument("invalid manifest.json: each entry needs a Config path")
        layers = entry.get("Layers") or []
        tags = entry.get("RepoTags") or []
        if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
            raise InvalidArgument("invalid manifest.json: Layers must be an array of paths")
        if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
            raise InvalidArgument("invalid manifest.json: RepoTags must be an array of strings")
        for tag in tags:
            parse_reference(tag)
        config_bytes = files.read(entry["Config"])
        config_digest = sha256_digest(config_bytes)
        _check_named_digest(entry["Config"], config_digest)
        config = ImageConfig.from_bytes(config_bytes)
        if len(layers) != len(config.diff_ids):
            raise _mismatch("layer count", len(config.diff_ids), len(layers))
        descriptors = [
            _store_layer(store, files, path, diff_id)
            for path, diff_id in zip(layers, config.diff_ids, strict=True)
        ]
        config_desc = store.content.write(
            config_bytes, expected=config_digest, media_type=mt.OCI_CONFIG
        )
        manifest = Manifest(config_desc, tuple(descriptors))
        manifest_desc = store.content.write(manifest.to_bytes(), media_type=mt.OCI_MANIFEST)
        pending.append(_Pending(manifest_desc, tuple(tags)))
    return pending


def _store_layer(store: ImageStore, files: ArchiveFiles, path: str, diff_id: str) -> Descriptor:
    """Verify a layer file against its diff_id and store it (gzip kept, others as plain tar)."""
    with files.open(path) as f:
        got, _ = diff_id_of(f)
    if got != diff_id:
        raise _mismatch(f"layer {path} diff_id", diff_id, got)
    with files.open(path) as f:
        head = f.read(2)
    if head == b"\x1f\x8b":
        digest = _file_digest(files, path)
        _check_named_digest(path, digest)
        with files.open(path) as f:
            return store.content.write(f, expected=digest, media_type=mt.OCI_LAYER_GZIP)
    _check_named_digest(path, diff_id)
    with files.open(path) as f, uncompressed(f) as plain:
        return store.content.write(plain, expected=diff_id, media_type=mt.OCI_LAYER)


# --- OCI layout (index.json) ------------------------------------------------------------


def _from_oci_layout(store: ImageStore, files: ArchiveFiles) -> list[_Pending]:
    if files.has("oci-layout"):
        layout = load_json(files.read("oci-layout"), "oci-layout")
        if layout.get("imageLayoutVersion") != mt.OCI_LAYOUT_VERSION:
            raise Unsupported(
                f"unsupported OCI layout version {layout.get('imageLayoutVersion')!r}"
            )
    index = parse_manifest(files.read("index.json"), mt.OCI_INDEX)
    if not isinstance(index, Index):
        raise InvalidArgument("invalid archive: index.json is not an index")
    pending = []
    for descriptor in index.manifests:
        manifest_desc = _resolve_platform(store, files, descriptor)
        tags = _names(descriptor.annotations)
        pending.append(_Pending(manifest_desc, tags))
    return pending


def _resolve_platform(store: ImageStore, files: ArchiveFiles, descriptor: Descriptor) -> Descriptor:
    """Store the manifest behind `descriptor` (choosing this host's platform in an index)."""
    for _ in range(8):
        data = _verified_blob(files, descriptor)
        parsed = parse_manifest(data, descriptor.media_type)
        if isinstance(parsed, Index):
            descriptor = parsed.select(host_platform())
            continue
        _store_image_blobs(store, files, parsed)
        return store.content.write(data, expected=descriptor.digest, media_type=parsed.media_type)
    raise InvalidArgument("invalid archive: indexes nested too deep")


def _store_image_blobs(store: ImageStore, files: ArchiveFiles, manifest: Manifest) -> None:
    config_bytes = _verified_blob(files, manifest.config)
    config = ImageConfig.from_bytes(config_bytes)
    if len(manifest.layers) != len(config.diff_ids):
        raise _mismatch("layer count", len(config.diff_ids), len(manifest.layers))
    for layer, diff_id in zip(manifest.layers, config.diff_ids, strict=True):
        mt.layer_compression(layer.media_type)
        path = _blob_path(layer)
        if files.size(path) != layer.size:
            raise _mismatch(f"blob {layer.digest} size", layer.size, files.size(path))
        with files.open(path) as f:
            got, _ = diff_id_of(f)
        if got != diff_id:
            raise _mismatch(f"layer {layer.digest} diff_id", diff_id, got)
        with files.open(path) as f:
            store.content.write(
                f, expected=layer.digest, size=layer.size, media_type=layer.media_type
            )
    store.content.write(
        config_bytes, expected=manifest.config.digest, media_type=manifest.config.media_type
    )


def _verified_blob(files: ArchiveFiles, descriptor: Descriptor) -> bytes:
    data = files.read(_blob_path(descriptor))
    got = sha256_digest(data)
    if got != descriptor.digest:
        raise _mismatch("digest", descriptor.digest, got)
    if len(data) != descriptor.size:
        raise _mismatch(f"blob {descriptor.digest} size", descriptor.size, len(data))
    return data


def _names(annotations: Any) -> tuple[str, ...]:
    """The reference an index entry names: containerd's full name, or a full ref.name."""
    for key in (IMAGE_NAME_ANNOTATION, REF_NAME_ANNOTATION):
        value = annotations.get(key)
        if not value:
            continue
        try:
            ref = parse_reference(value)
        except InvalidArgument:
            continue
        if key == REF_NAME_ANNOTATION and ("/" not in value and ":" not in value):
            continue  # a bare tag ("latest") names no repository
        if ref.digest is None:
            return (str(ref),)
    return ()


# --- helpers ----------------------------------------------------------------------------


def _mismatch(what: str, expected: object, got: object) -> InvalidArgument:
    return InvalidArgument(f"invalid archive: {what} mismatch: expected {expected}, got {got}")


def _blob_path(descriptor: Descriptor) -> str:
    return "blobs/sha256/" + descriptor.hex


def _check_named_digest(path: str, digest: str) -> None:
    """Files named by a digest (`blobs/sha256/<hex>`, `<hex>.json`) must hold that content."""
    stem = path.rsplit("/", 1)[-1].removesuffix(".json")
    named = path.startswith("blobs/sha256/") or path.endswith(".json")
    if named and len(stem) == 64 and stem != digest.removeprefix("sha256:"):
        raise InvalidArgument(
            f"invalid archive: {path} digest mismatch: expected sha256:{stem}, got {digest}"
        )


def _file_digest(files: ArchiveFiles, path: str) -> str:
    digest = hashlib.sha256()
    with files.open(path) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _json_array(data: bytes, what: str) -> list[Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise InvalidArgument(f"invalid {what}: not JSON ({exc})") from exc
    if not isinstance(value, list):
        raise InvalidArgument(f"invalid {what}: want a JSON array")
    return value


__all__ = ["LoadedImage", "load"]
