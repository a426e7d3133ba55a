"""Assemble images from layers: write the config and manifest blobs, record the image.

Used by bootstrap, `docker import` and (later) the builder: layers are already blobs; this
writes the two metadata blobs that tie them together and adds the image in one step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import BinaryIO

from estiba.content import ContentStore, Descriptor
from estiba.errors import InvalidArgument
from estiba.images import mediatypes as mt
from estiba.images._records import Image
from estiba.images.layers import import_tar
from estiba.images.manifest import Manifest
from estiba.images.model import ContainerConfig, History, ImageConfig, host_platform
from estiba.images.reference import Reference
from estiba.images.store import ImageStore


def now_rfc3339() -> str:
    """The current UTC time as image configs write it: `2024-05-01T12:00:00.123456Z`."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_image(
    content: ContentStore, config: ImageConfig, layers: Sequence[Descriptor]
) -> Descriptor:
    """Write `config` and an OCI manifest over `layers`; return the manifest's descriptor."""
    if len(layers) != len(config.diff_ids):
        raise InvalidArgument(
            f"{len(layers)} layers given for a config with {len(config.diff_ids)} diff_ids"
        )
    config_bytes = config.to_bytes()
    config_desc = content.write(config_bytes, media_type=mt.OCI_CONFIG)
    manifest = Manifest(config=config_desc, layers=tuple(layers))
    return content.write(manifest.to_bytes(), media_type=mt.OCI_MANIFEST)


def single_layer_image(
    store: ImageStore,
    layer: Descriptor,
    diff_id: str,
    *,
    container_config: ContainerConfig | None = None,
    created_by: str = "",
    comment: str = "",
    created: str | None = None,
    refs: Iterable[str | Reference] = (),
) -> Image:
    """Make and record an image of one layer for this host's platform."""
    created = created or now_rfc3339()
    platform = host_platform()
    config = ImageConfig(
        architecture=platform.architecture,
        os=platform.os,
        variant=platform.variant,
        config=container_config or ContainerConfig(),
        diff_ids=(diff_id,),
        history=(History(created=created, created_by=created_by, comment=comment),),
        created=created,
    )
    manifest = write_image(store.content, config, [layer])
    return store.add(manifest.digest, refs=refs)


def import_image(
    store: ImageStore,
    stream: BinaryIO,
    *,
    ref: str | Reference | None = None,
    message: str = "",
    container_config: ContainerConfig | None = None,
    source: str = "-",
) -> Image:
    """`docker import`: a tar (compressed or not) becomes a one-layer image."""
    layer, diff_id = import_tar(stream, store.content)
    return single_layer_image(
        store,
        layer,
        diff_id,
        container_config=container_config,
        comment=message or f"Imported from {source}",
        refs=[ref] if ref is not None else [],
    )
