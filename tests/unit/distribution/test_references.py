"""References as Docker normalises them, and which registry endpoints serve them."""

from __future__ import annotations

import pytest

from estiba.distribution.credentials import (
    INDEX_SERVER,
    credential_key,
    normalize_server,
    registry_domain,
)
from estiba.distribution.registries import RegistryOptions, endpoints, is_insecure
from estiba.distribution.service import pull_reference, split_search_term
from estiba.errors import InvalidArgument
from estiba.images import parse_reference


@pytest.mark.parametrize(
    ("text", "full"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("user/app:1", "docker.io/user/app:1"),
        ("index.docker.io/library/busybox", "docker.io/library/busybox:latest"),
        ("localhost:5000/a/b:t", "localhost:5000/a/b:t"),
        ("127.0.0.1:5000/demo", "127.0.0.1:5000/demo:latest"),
        ("ghcr.io/o/r@sha256:" + "a" * 64, "ghcr.io/o/r@sha256:" + "a" * 64),
        ("quay.io/o/r:v1@sha256:" + "b" * 64, "quay.io/o/r:v1@sha256:" + "b" * 64),
    ],
)
def test_normalisation(text: str, full: str) -> None:
    assert str(parse_reference(text)) == full


def test_pull_reference_reads_from_image_and_tag_as_dockerd() -> None:
    ref, every = pull_reference("busybox", "1.36")
    assert (str(ref), every) == ("docker.io/library/busybox:1.36", False)
    ref, every = pull_reference("busybox", "")
    assert every and ref.tag is None
    ref, every = pull_reference("busybox", "sha256:" + "c" * 64)
    assert ref.digest == "sha256:" + "c" * 64 and not every
    ref, every = pull_reference("host:5000/a:t", "")
    assert (ref.domain, ref.tag, every) == ("host:5000", "t", False)
    with pytest.raises(InvalidArgument):
        pull_reference("", "")


def test_default_registry_and_mirrors() -> None:
    options = RegistryOptions(mirrors=("https://mirror.example:5000",))
    found = endpoints("docker.io", options)
    assert [e.url for e in found] == ["https://mirror.example:5000", "https://registry-1.docker.io"]
    assert found[0].mirror and not found[1].mirror
    assert [e.url for e in endpoints("ghcr.io", options)] == ["https://ghcr.io"]


def test_loopback_is_insecure_by_default_and_falls_back_to_http() -> None:
    options = RegistryOptions()
    assert is_insecure("127.0.0.1:5000", options) and is_insecure("localhost:5000", options)
    assert not is_insecure("10.1.2.3:5000", options)
    assert [e.url for e in endpoints("127.0.0.1:5000", options)] == [
        "https://127.0.0.1:5000",
        "http://127.0.0.1:5000",
    ]
    custom = RegistryOptions(insecure=("10.0.0.0/8", "reg.local:5000"))
    assert is_insecure("10.1.2.3:5000", custom) and is_insecure("reg.local:5000", custom)
    assert not is_insecure("reg.local:5001", custom)


@pytest.mark.parametrize("bad", [{"mirrors": ("mirror:5000",)}, {"insecure": ("http://x",)},
                                 {"insecure": ("10.0.0.0/99",)}])  # fmt: skip
def test_bad_registry_options_are_refused(bad: dict) -> None:
    with pytest.raises(InvalidArgument):
        RegistryOptions(**bad)


def test_credential_keys_and_servers() -> None:
    assert credential_key("docker.io") == INDEX_SERVER
    assert credential_key("127.0.0.1:5000") == "127.0.0.1:5000"
    assert normalize_server("") == "docker.io"
    assert normalize_server("https://index.docker.io/v1/") == "docker.io"
    assert normalize_server("http://host:5000/v2/") == "host:5000"
    assert registry_domain("host:5000/a/b:t") == "host:5000"
    assert registry_domain("user/app") == "docker.io"
    assert registry_domain("localhost/app") == "localhost"


def test_search_terms() -> None:
    assert split_search_term("busybox") == ("docker.io", "busybox")
    assert split_search_term("127.0.0.1:5000/demo") == ("127.0.0.1:5000", "demo")
    assert split_search_term("user/app") == ("docker.io", "user/app")
