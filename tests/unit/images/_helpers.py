"""Helpers for image tests: small tar layers and images made from them."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence

from estiba.content import ContentStore, Descriptor
from estiba.images import ContainerConfig, History, ImageConfig, ImageStore, write_image
from estiba.images import mediatypes as mt


def layer(content: ContentStore, text: str) -> Descriptor:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(text.replace("/", "_") or "f")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text.encode()))
    return content.write(buf.getvalue(), media_type=mt.OCI_LAYER)


def make_image(
    store: ImageStore,
    *layer_texts: str,
    refs: Sequence[str] = (),
    created: str = "2024-01-01T00:00:00Z",
    labels: dict[str, str] | None = None,
    parent: str | None = None,
    history: Sequence[History] | None = None,
) -> str:
    layers = [layer(store.content, text) for text in layer_texts]
    config = ImageConfig(
        architecture="amd64",
        os="linux",
        config=ContainerConfig(labels=labels or {}, cmd=("sh",)),
        diff_ids=tuple(d.digest for d in layers),
        history=tuple(history)
        if history is not None
        else tuple(History(created=created, created_by=f"ADD {t}") for t in layer_texts),
        created=created,
    )
    manifest = write_image(store.content, config, layers)
    return store.add(manifest.digest, refs=refs, parent=parent).id
