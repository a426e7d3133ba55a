"""docker-archive: `docker save` and `docker load` tarballs.

`save` writes what Docker 20.10 writes: `manifest.json` ([{Config, RepoTags, Layers}]),
`repositories`, `<config hex>.json` and, per layer, `<v1 id>/{VERSION,json,layer.tar}` with
uncompressed layer tars. `load` (in `_archive_load`) reads that and the OCI-layout flavour
Docker 25+ writes, verifying every digest.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

from estiba.content import Descriptor, read_blob
from estiba.errors import InvalidArgument, NotFound
from estiba.images import mediatypes as mt
from estiba.images._archive_load import LoadedImage, load
from estiba.images._records import Image, unix_time
from estiba.images.layers import open_layer
from estiba.images.model import EMPTY_CONTAINER_CONFIG, ImageConfig
from estiba.images.reference import Reference, is_image_id, parse_reference
from estiba.images.store import ImageStore



@dataclass
class _SavedImage:
    image: Image
    tags: list[Reference] = field(default_factory=list)


@dataclass(frozen=True)
class _Entry:
    """One file of the archive: its bytes, or a layer blob to copy out uncompressed."""

    name: str
    data: bytes | None = None
    layer: Descriptor | None = None
    link: str | None = None


def save(store: ImageStore, refs: Sequence[str], out: BinaryIO) -> None:
    """Write the images named by `refs` (names, name:tag, ids) to `out` as `docker save` does.

    A bare name saves every tag of that repository; ids and digests save the image untagged.
    """
    images = _select(store, refs)
    entries: dict[str, _Entry] = {}
    manifest, repositories = [], {}
    for saved in images.values():
        config_bytes = read_blob(store.content, saved.image.id)
        config = ImageConfig.from_bytes(config_bytes)
        layer_ids = _add_layers(entries, store, saved.image, config)
        config_name = saved.image.id.removeprefix("sha256:") + ".json"
        entries[config_name] = _Entry(config_name, data=config_bytes)
        for tag in saved.tags if layer_ids else ():  # `repositories` names the top layer
            repositories.setdefault(tag.familiar_name, {})[tag.tag] = layer_ids[-1]
        manifest.append(
            {
                "Config": config_name,
                "RepoTags": [tag.familiar() for tag in saved.tags] or None,
                "Layers": [f"{layer_id}/layer.tar" for layer_id in layer_ids],
            }
        )
    entries["manifest.json"] = _Entry("manifest.json", data=_json(manifest))
    if repositories:
        entries["repositories"] = _Entry("repositories", data=_json(repositories))
    mtime = max((unix_time(s.image.created) for s in images.values()), default=0)
    _write_tar(store, out, [entries[name] for name in sorted(entries)], mtime)


def _select(store: ImageStore, refs: Sequence[str]) -> dict[str, _SavedImage]:
    selected: dict[str, _SavedImage] = {}

    def add(image: Image, tag: Reference | None) -> None:
        saved = selected.setdefault(image.id, _SavedImage(image))
        if tag is not None and tag not in saved.tags:
            saved.tags.append(tag)

    for text in refs:
        if is_image_id(text):
            add(store.get(text), None)
            continue
        try:
            ref = parse_reference(text, default_tag=False)
        except InvalidArgument:  # an id prefix is not always a valid reference
            add(store.get(text), None)
            continue
        if ref.digest is not None:
            add(store.get(text), None)
        elif ref.tag is None:
            tagged = [i for i in store.list() if _tags_of(i, ref)]
            if not tagged:
                add(store.get(text), None)
            for image in tagged:
                for tag in _tags_of(image, ref):
                    add(image, tag)
        else:
            add(store.get(text), ref)
    if not selected:
        raise NotFound("nothing to save: name at least one image")
    return selected


def _tags_of(image: Image, repository: Reference) -> list[Reference]:
    tags = [parse_reference(t) for t in image.repo_tags]
    return [t for t in tags if t.name == repository.name]


def _add_layers(
    entries: dict[str, _Entry], store: ImageStore, image: Image, config: ImageConfig
) -> list[str]:
    """Add `<v1 id>/…` entries for each layer; return the v1 ids, bottom first."""
    layers = dict(store.layers(image.id))
    written = {e.layer.digest: name for name, e in entries.items() if e.layer is not None}
    layer_ids: list[str] = []
    chain = parent = ""
    for index, diff_id in enumerate(config.diff_ids):
        chain = diff_id if not chain else _sha256(f"{chain} {diff_id}".encode())
        top = index == len(config.diff_ids) - 1
        v1 = _v1_json(config, top=top)
        layer_id = _sha256(_json({**v1, "layer_id": chain, "parent": parent})).removeprefix(
            "sha256:"
        )
        if f"{layer_id}/json" not in entries:
            v1 = {
                "id": layer_id,
                **({"parent": parent.removeprefix("sha256:")} if parent else {}),
                **v1,
            }
            entries[f"{layer_id}/VERSION"] = _Entry(f"{layer_id}/VERSION", data=b"1.0")
            entries[f"{layer_id}/json"] = _Entry(f"{layer_id}/json", data=_json(v1))
            blob = layers[diff_id]
            name = f"{layer_id}/layer.tar"
            if blob.digest in written:
                # The same layer at another place in a chain: Docker links to the first copy.
                entries[name] = _Entry(name, link=f"../{written[blob.digest]}")
            else:
                entries[name] = _Entry(name, layer=blob)
                written[blob.digest] = name
        layer_ids.append(layer_id)
        parent = "sha256:" + layer_id
    return layer_ids


def _v1_json(config: ImageConfig, *, top: bool) -> dict[str, object]:
    """The legacy per-layer json: the image's own fields on the top layer, stubs below."""
    if not top:
        return {
            "created": "1970-01-01T00:00:00Z",
            "container_config": EMPTY_CONTAINER_CONFIG,
            "os": config.os,
        }
    full = config.to_json()
    v1: dict[str, object] = {k: v for k, v in full.items() if k not in ("rootfs", "history")}
    v1.setdefault("container_config", EMPTY_CONTAINER_CONFIG)
    return v1


def _write_tar(store: ImageStore, out: BinaryIO, entries: list[_Entry], mtime: int) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        directories: set[str] = set()
        for entry in entries:
            parent = entry.name.rpartition("/")[0]
            if parent and parent not in directories:
                directories.add(parent)
                tar.addfile(_info(parent, tarfile.DIRTYPE, 0o755, mtime))
            if entry.link is not None:
                info = _info(entry.name, tarfile.SYMTYPE, 0o777, mtime)
                info.linkname = entry.link
                tar.addfile(info)
            elif entry.layer is not None:
                with _uncompressed_layer(store, entry.layer) as (reader, size):
                    info = _info(entry.name, tarfile.REGTYPE, 0o644, mtime)
                    info.size = size
                    tar.addfile(info, reader)
            else:
                data = entry.data or b""
                info = _info(entry.name, tarfile.REGTYPE, 0o644, mtime)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


@contextmanager
def _uncompressed_layer(store: ImageStore, layer: Descriptor) -> Iterator[tuple[BinaryIO, int]]:
    """The layer's tar and its size: straight from the blob, or unpacked into a spool file."""
    if layer.media_type in mt.PLAIN_LAYERS:
        with store.content.open(layer.digest) as reader:
            yield reader, layer.size
        return
    with (
        tempfile.TemporaryFile(prefix="estiba-save-") as spool,
        open_layer(store.content, layer) as src,
    ):
        shutil.copyfileobj(src, spool, 1 << 20)
        size = spool.tell()
        spool.seek(0)
        yield spool, size  # type: ignore[misc]


def _info(name: str, kind: bytes, mode: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = kind, mode, mtime
    return info


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


__all__: list[str] = ["LoadedImage", "load", "save"]
