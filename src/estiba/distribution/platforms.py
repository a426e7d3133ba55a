"""Platforms: `--platform os/arch[/variant]` parsed and normalised as Docker does, and the
manifest of an index chosen for one (a missing variant matches; arm64 means v8)."""

from __future__ import annotations

from estiba.content import Descriptor, Platform
from estiba.errors import InvalidArgument, NotFound
from estiba.images import Index, host_platform

_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm",
                 "armel": "arm", "i386": "386", "i686": "386"}  # fmt: skip
_DEFAULT_VARIANT = {"arm64": "v8", "arm": "v7"}


def parse_platform(text: str) -> Platform:
    """`linux/arm64`, `linux/arm/v7`, `arm64` (os defaults to linux); empty: this host."""
    if not text:
        return host_platform()
    parts = text.strip().lower().split("/")
    if len(parts) == 1:
        parts = ["linux", parts[0]]
    if len(parts) > 3 or not all(parts):
        raise InvalidArgument(f"invalid platform {text!r}", hint="use os/arch[/variant]")
    os_name, arch = parts[0], _ARCH_ALIASES.get(parts[1], parts[1])
    variant = parts[2] if len(parts) == 3 else None
    if arch == "arm64" and variant == "8":
        variant = "v8"
    return Platform(os_name, arch, variant)


def describe(platform: Platform) -> str:
    return "/".join(p for p in (platform.os, platform.architecture, platform.variant) if p)


def matches(candidate: Platform, want: Platform) -> bool:
    arch = _ARCH_ALIASES.get(candidate.architecture, candidate.architecture)
    if candidate.os != want.os or arch != want.architecture:
        return False
    have = candidate.variant or _DEFAULT_VARIANT.get(arch)
    wanted = want.variant or _DEFAULT_VARIANT.get(arch)
    return not (have and wanted and have != wanted) or not want.variant


def check_image_platform(actual: Platform, text: str, ref: str) -> None:
    """dockerd's refusal of a local image of another platform than `--platform` asks for
    (`run`, `create`, a build's FROM); nothing asked, anything goes."""
    if not text:
        return
    want = parse_platform(text)
    if not matches(actual, want):
        raise NotFound(
            f"image with reference {ref} was found but does not match the specified platform: "
            f"wanted {describe(want)}, actual: {describe(actual)}"
        )


def select_manifest(index: Index, want: Platform, what: str = "the image") -> Descriptor:
    """The best entry for `want`: an exact variant first, then one without variant."""
    candidates = [d for d in index.manifests if d.platform and matches(d.platform, want)]
    exact = [d for d in candidates if d.platform and d.platform.variant == want.variant]
    chosen = (exact or candidates or [None])[0]
    if chosen is None:
        offered = sorted({describe(d.platform) for d in index.manifests if d.platform})
        raise NotFound(
            f"{what}: no manifest for {describe(want)} in the index",
            hint=f"it has {', '.join(offered) or 'no platforms'}; use --platform",
        )
    return chosen
