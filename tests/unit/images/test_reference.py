"""parse_reference normalises like Docker and prints the familiar form docker shows."""

from __future__ import annotations

import pytest

from estiba.errors import InvalidArgument
from estiba.images import Reference, familiar_match, is_image_id, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag", "digest", "familiar"),
    [
        ("busybox", "docker.io", "library/busybox", "latest", None, "busybox:latest"),
        ("busybox:1.36", "docker.io", "library/busybox", "1.36", None, "busybox:1.36"),
        ("library/busybox", "docker.io", "library/busybox", "latest", None, "busybox:latest"),
        ("docker.io/busybox", "docker.io", "library/busybox", "latest", None, "busybox:latest"),
        (
            "index.docker.io/busybox",
            "docker.io",
            "library/busybox",
            "latest",
            None,
            "busybox:latest",
        ),
        ("user/app:v1", "docker.io", "user/app", "v1", None, "user/app:v1"),
        ("host:5000/ns/name:tag", "host:5000", "ns/name", "tag", None, "host:5000/ns/name:tag"),
        ("host:5000/name", "host:5000", "name", "latest", None, "host:5000/name:latest"),
        ("localhost/x", "localhost", "x", "latest", None, "localhost/x:latest"),
        (
            "localhost:5000/a/b/c",
            "localhost:5000",
            "a/b/c",
            "latest",
            None,
            "localhost:5000/a/b/c:latest",
        ),
        ("reg.example.com/a", "reg.example.com", "a", "latest", None, "reg.example.com/a:latest"),
        (f"busybox@{DIGEST}", "docker.io", "library/busybox", None, DIGEST, f"busybox@{DIGEST}"),
        (f"busybox:1@{DIGEST}", "docker.io", "library/busybox", "1", DIGEST, f"busybox:1@{DIGEST}"),
        (
            "a_b.c-d__e:T_1.x-y",
            "docker.io",
            "library/a_b.c-d__e",
            "T_1.x-y",
            None,
            "a_b.c-d__e:T_1.x-y",
        ),
        ("[::1]:5000/app", "[::1]:5000", "app", "latest", None, "[::1]:5000/app:latest"),
        ("Example.com/app", "Example.com", "app", "latest", None, "Example.com/app:latest"),
    ],
)
def test_parse_and_familiar(
    text: str, domain: str, path: str, tag: str | None, digest: str | None, familiar: str
) -> None:
    ref = parse_reference(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)
    assert ref.familiar() == familiar
    assert parse_reference(str(ref)) == ref, "the full form parses back to the same reference"


def test_full_string_form() -> None:
    assert str(parse_reference("busybox")) == "docker.io/library/busybox:latest"
    assert parse_reference("busybox").name == "docker.io/library/busybox"
    assert parse_reference("user/app").familiar_name == "user/app"
    assert parse_reference("docker.io/library/a/b").familiar_name == "library/a/b"


def test_default_tag_can_be_left_off() -> None:
    ref = parse_reference("busybox", default_tag=False)
    assert ref.tag is None and ref.familiar() == "busybox"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("BusyBox", "must be lowercase"),
        ("user/App", "must be lowercase"),
        ("", "empty"),
        ("busybox:", "bad tag"),
        ("busybox:-bad", "bad tag"),
        ("bad//name", "invalid reference format"),
        ("-name", "invalid reference format"),
        ("name@sha256:abc", "bad digest"),
        ("name@sha256:" + "A" * 64, "bad sha256 digest"),
        ("a" * 64, "64-byte hexadecimal"),
        ("x" * 256, "longer than 255"),
        ("ho_st:50/x", "bad domain"),
        (":tag", "invalid reference format"),
    ],
)
def test_bad_references(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as info:
        parse_reference(text)
    assert "\n" not in str(info.value)


def test_with_tag_and_digest() -> None:
    ref = parse_reference("busybox")
    assert ref.with_tag("1").familiar() == "busybox:1"
    assert ref.with_digest(DIGEST).familiar() == f"busybox@{DIGEST}"
    assert ref.repository() == Reference("docker.io", "library/busybox")
    with pytest.raises(InvalidArgument):
        ref.with_tag("bad tag")


def test_is_image_id() -> None:
    assert is_image_id("ab" * 32) and is_image_id("sha256:" + "ab" * 32)
    assert not is_image_id("abc") and not is_image_id("busybox")


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("busybox", "busybox:latest", True),
        ("busybox:latest", "busybox:latest", True),
        ("busy*", "busybox:1", True),
        ("busybox:1*", "busybox:1.36", True),
        ("*", "user/app:v1", False),
        ("*/*", "user/app:v1", True),
        ("debian", "busybox:latest", False),
        ("busybox:[0-9]*", "busybox:1", True),
    ],
)
def test_familiar_match(pattern: str, text: str, matches: bool) -> None:
    assert familiar_match(pattern, parse_reference(text)) is matches
