"""Descriptors and digests: the typed name of a blob (what it is, its sha256, its size).

A descriptor is how every other part of Estiba refers to content; its JSON form is the OCI
content descriptor (`mediaType`, `digest`, `size`, `annotations`, `platform`, `urls`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from estiba.errors import InvalidArgument

OCTET_STREAM = "application/octet-stream"

_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
_ANY_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")


def sha256_digest(data: bytes) -> str:
    """The `sha256:<hex>` digest of `data`."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest(digest: str) -> str:
    """Return `digest` if it is `sha256:<64 lowercase hex>`; raise InvalidArgument otherwise."""
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        if isinstance(digest, str) and _ANY_DIGEST.fullmatch(digest):
            algorithm = digest.split(":", 1)[0]
            if algorithm != "sha256":
                raise InvalidArgument(f"unsupported digest algorithm {algorithm!r}: only sha256")
        raise InvalidArgument(f"invalid digest {digest!r}: want sha256:<64 hex digits>")
    return digest


def digest_hex(digest: str) -> str:
    """The hex part of a checked sha256 digest."""
    return check_digest(digest)[len("sha256:") :]


@dataclass(frozen=True)
class Platform:
    """The platform a manifest in an index is for (`linux`/`amd64`, with optional variant)."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        return out

    @classmethod
    def from_json(cls, data: Any) -> Platform:
        if not isinstance(data, dict):
            raise InvalidArgument("invalid platform: want a JSON object")
        os_name, arch = data.get("os"), data.get("architecture")
        if not isinstance(os_name, str) or not isinstance(arch, str):
            raise InvalidArgument("invalid platform: os and architecture must be strings")
        return cls(
            os=os_name,
            architecture=arch,
            variant=_opt_str(data, "variant"),
            os_version=_opt_str(data, "os.version"),
            os_features=tuple(data.get("os.features") or ()),
        )


@dataclass(frozen=True)
class Descriptor:
    """A typed pointer to a blob: media type, sha256 digest, size, and OCI extras."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_digest(self.digest)
        if not isinstance(self.size, int) or self.size < 0:
            raise InvalidArgument(f"invalid size {self.size!r} for {self.digest}")
        # Freeze a caller's dict so that a descriptor can be shared and hashed by identity.
        object.__setattr__(self, "annotations", MappingProxyType(dict(self.annotations)))

    def __hash__(self) -> int:
        return hash((self.media_type, self.digest, self.size))

    @property
    def hex(self) -> str:
        return self.digest[len("sha256:") :]

    def with_media_type(self, media_type: str) -> Descriptor:
        return Descriptor(
            media_type, self.digest, self.size, self.annotations, self.platform, self.urls
        )

    def with_annotations(self, annotations: Mapping[str, str]) -> Descriptor:
        return Descriptor(
            self.media_type, self.digest, self.size, annotations, self.platform, self.urls
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        return out

    @classmethod
    def from_json(cls, data: Any) -> Descriptor:
        if not isinstance(data, dict):
            raise InvalidArgument("invalid descriptor: want a JSON object")
        media_type, digest, size = data.get("mediaType"), data.get("digest"), data.get("size")
        if not isinstance(media_type, str) or not media_type:
            raise InvalidArgument("invalid descriptor: mediaType must be a non-empty string")
        if not isinstance(digest, str):
            raise InvalidArgument("invalid descriptor: digest must be a string")
        if not isinstance(size, int) or isinstance(size, bool):
            raise InvalidArgument(f"invalid descriptor {digest}: size must be an integer")
        annotations = data.get("annotations") or {}
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            raise InvalidArgument(f"invalid descriptor {digest}: annotations must map strings")
        platform = data.get("platform")
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            annotations=annotations,
            platform=Platform.from_json(platform) if platform is not None else None,
            urls=tuple(data.get("urls") or ()),
        )


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidArgument(f"invalid platform: {key} must be a string")
    return value
