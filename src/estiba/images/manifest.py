"""Manifests and indexes (OCI and Docker schema 2): which blobs make an image, per platform."""

from __future__ import annotations

import platform as _platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from estiba.content import Descriptor, Platform
from estiba.errors import InvalidArgument, NotFound, Unsupported
from estiba.images import mediatypes as mt
from estiba.images._json import canonical_json, load_json


@dataclass(frozen=True)
class Manifest:
    """One image for one platform: its config blob and its layer blobs, bottom first."""

    config: Descriptor
    layers: tuple[Descriptor, ...]
    media_type: str = mt.OCI_MANIFEST
    annotations: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out.update(
            schemaVersion=2,
            mediaType=self.media_type,
            config=self.config.to_json(),
            layers=[layer.to_json() for layer in self.layers],
        )
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())


@dataclass(frozen=True)
class Index:
    """A list of manifests (one per platform), OCI index or Docker manifest list."""

    manifests: tuple[Descriptor, ...]
    media_type: str = mt.OCI_INDEX
    annotations: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out.update(
            schemaVersion=2,
            mediaType=self.media_type,
            manifests=[m.to_json() for m in self.manifests],
        )
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    def select(self, want: Platform) -> Descriptor:
        """The manifest for `want` (a missing variant matches any); NotFound when none."""
        for descriptor in self.manifests:
            p = descriptor.platform
            if p is None or p.os != want.os or p.architecture != want.architecture:
                continue
            if want.variant and p.variant and p.variant != want.variant:
                continue
            return descriptor
        raise NotFound(
            f"no manifest for {want.os}/{want.architecture} in the index: pick another platform"
        )


def parse_manifest(data: bytes, media_type: str | None = None) -> Manifest | Index:
    """Parse a manifest or an index; the JSON's own mediaType wins over the one given."""
    body = load_json(data, "manifest")
    if body.get("schemaVersion") != 2:
        raise Unsupported(
            f"manifest schemaVersion {body.get('schemaVersion')!r} is not supported: want 2"
        )
    kind = body.get("mediaType") or media_type
    if kind is None:
        kind = mt.OCI_INDEX if "manifests" in body else mt.OCI_MANIFEST
    known = ("schemaVersion", "mediaType", "annotations", "config", "layers", "manifests")
    extra = {k: v for k, v in body.items() if k not in known}
    annotations = body.get("annotations") or {}
    if kind in mt.INDEXES:
        manifests = body.get("manifests")
        if not isinstance(manifests, list):
            raise InvalidArgument("invalid index: manifests must be an array")
        return Index(tuple(Descriptor.from_json(m) for m in manifests), kind, annotations, extra)
    if kind in mt.MANIFESTS:
        layers = body.get("layers")
        if not isinstance(layers, list):
            raise InvalidArgument("invalid manifest: layers must be an array")
        config = Descriptor.from_json(body.get("config"))
        return Manifest(
            config, tuple(Descriptor.from_json(x) for x in layers), kind, annotations, extra
        )
    raise Unsupported(f"unsupported manifest media type {kind!r}")


_ARCHITECTURES = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "i686": "386",
    "i386": "386",
}


def host_platform() -> Platform:
    """The platform of this machine, in OCI's words (linux/amd64, linux/arm64/v8...)."""
    machine = _platform.machine()
    arch = _ARCHITECTURES.get(machine, machine)
    variant = {"arm64": "v8", "arm": "v7"}.get(arch)
    return Platform("linux", arch, variant)
