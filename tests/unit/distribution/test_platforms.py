"""`--platform` parsing and choosing an index entry."""

from __future__ import annotations

import pytest

from estiba.content import Descriptor, Platform
from estiba.distribution.platforms import parse_platform, select_manifest
from estiba.errors import InvalidArgument, NotFound
from estiba.images import Index, host_platform

M = "application/vnd.oci.image.manifest.v1+json"


def entry(n: int, os: str, arch: str, variant: str | None = None) -> Descriptor:
    return Descriptor(M, "sha256:" + f"{n:x}" * 64, 100, platform=Platform(os, arch, variant))


INDEX = Index((
    entry(1, "linux", "amd64"),
    entry(2, "linux", "arm", "v6"),
    entry(3, "linux", "arm", "v7"),
    entry(4, "linux", "arm64", "v8"),
    entry(5, "windows", "amd64"),
))  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64", Platform("linux", "amd64")),
        ("linux/arm64/v8", Platform("linux", "arm64", "v8")),
        ("arm64", Platform("linux", "arm64")),
        ("Linux/x86_64", Platform("linux", "amd64")),
        ("linux/aarch64", Platform("linux", "arm64")),
    ],
)
def test_parse_platform(text: str, expected: Platform) -> None:
    assert parse_platform(text) == expected


def test_empty_platform_is_the_host() -> None:
    assert parse_platform("") == host_platform()


@pytest.mark.parametrize("bad", ["linux/", "a/b/c/d", "/amd64"])
def test_bad_platforms(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_platform(bad)


@pytest.mark.parametrize(
    ("want", "digit"),
    [("linux/amd64", "1"), ("linux/arm/v6", "2"), ("linux/arm/v7", "3"), ("linux/arm", "2"),
     ("linux/arm64", "4"), ("linux/arm64/v8", "4"), ("windows/amd64", "5")],
)  # fmt: skip
def test_select_manifest(want: str, digit: str) -> None:
    assert select_manifest(INDEX, parse_platform(want)).digest == "sha256:" + digit * 64


def test_no_entry_names_what_there_is() -> None:
    with pytest.raises(NotFound) as failure:
        select_manifest(INDEX, parse_platform("linux/s390x"), "busybox:latest")
    message = str(failure.value)
    assert "busybox:latest" in message and "linux/s390x" in message and "linux/arm64/v8" in message
