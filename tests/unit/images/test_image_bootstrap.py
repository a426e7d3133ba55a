"""bootstrap_busybox and bootstrap_debian make proper, tagged one-layer images.

Debian is bootstrapped with a fake debootstrap here (no root, no network); the real one
runs in tests/integration/images/test_debian_bootstrap.py.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from estiba.content import LocalContentStore
from estiba.errors import NotFound, Unavailable
from estiba.images import (
    ImageFilters,
    ImageStore,
    apt_mirror,
    bootstrap_busybox,
    bootstrap_debian,
    open_layer,
)

BUSYBOX = Path("/bin/busybox")
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

needs_busybox = pytest.mark.skipif(
    not BUSYBOX.exists(), reason="busybox not installed (apt-get install busybox-static)"
)


def new_store(root: Path) -> ImageStore:
    return ImageStore(root / "images.db", LocalContentStore(root / "content"))


def layer_members(store: ImageStore, ref: str) -> dict[str, tarfile.TarInfo]:
    ((_, blob),) = store.layers(ref)
    with open_layer(store.content, blob) as reader, tarfile.open(fileobj=reader, mode="r|") as tar:
        return {m.name: m for m in tar}


@needs_busybox
def test_busybox_image(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    image = bootstrap_busybox(store)
    assert image.repo_tags == ("busybox:latest",)
    assert store.get("busybox").id == image.id
    config = store.config("busybox")
    assert config.config.env == (PATH,) and config.config.cmd == ("sh",)
    assert config.os == "linux" and config.created
    assert len(config.diff_ids) == 1
    assert [h.empty_layer for h in config.history] == [False, True]
    assert config.history[1].created_by == 'CMD ["sh"]'
    members = layer_members(store, "busybox")
    assert members["bin/busybox"].isreg() and members["bin/busybox"].mode & 0o111
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
    assert members["etc/passwd"].isreg() and members["tmp"].mode == 0o1777
    assert {(m.uid, m.gid) for n, m in members.items() if n != "home/estiba"} == {(0, 0)}
    assert (members["home/estiba"].uid, members["home/estiba"].gid) == (1000, 1000)


@needs_busybox
def test_busybox_image_is_reproducible(tmp_path: Path) -> None:
    first = bootstrap_busybox(new_store(tmp_path / "a"))
    second = bootstrap_busybox(new_store(tmp_path / "b"), tag="bb:1")
    assert first.id == second.id
    assert second.repo_tags == ("bb:1",)


def test_busybox_missing(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    with pytest.raises(NotFound, match="apt-get install busybox-static"):
        bootstrap_busybox(store, busybox=tmp_path / "nope")
    assert store.list(ImageFilters(all=True)) == []


# --- debian ----------------------------------------------------------------------------------


class FakeDebootstrap:
    """Writes a tiny tree where debootstrap would, and remembers its command line."""

    def __init__(self, *, fail: bool = False) -> None:
        self.argv: list[str] = []
        self.fail = fail

    def __call__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        target = Path(argv[3])
        for directory in ("bin", "etc", "dev", "proc", "tmp", "var/lib/apt/lists", "var/cache/apt"):
            (target / directory).mkdir(parents=True, exist_ok=True)
        (target / "bin/bash").write_text("#!fake\n")
        (target / "etc/debian_version").write_text("12.5\n")
        (target / "etc/resolv.conf").write_text("nameserver 10.0.0.1\n")
        (target / "dev/null").write_text("")
        (target / "var/lib/apt/lists/big_Packages").write_text("x" * 100)
        (target / "var/cache/apt/pkgcache.bin").write_text("x")
        if self.fail:
            raise Unavailable("debootstrap failed (exit 1): E: Couldn't download packages")


def test_debian_image_with_fake_debootstrap(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    fake = FakeDebootstrap()
    image = bootstrap_debian(store, workdir=work, mirror="http://mirror.test/debian", run=fake)
    assert fake.argv[:3] == ["debootstrap", "--variant=minbase", "bookworm"]
    assert fake.argv[4] == "http://mirror.test/debian"
    assert Path(fake.argv[3]).parent == work
    assert list(work.iterdir()) == [], "the temporary tree is removed"
    assert set(image.repo_tags) == {"debian:bookworm", "debian:latest"}
    assert store.get("debian").id == image.id
    config = store.config("debian:bookworm")
    assert config.config.cmd == ("bash",) and config.config.env == (PATH,)
    assert config.history[0].created_by.startswith("debootstrap --variant=minbase bookworm")
    members = layer_members(store, "debian")
    assert "bin/bash" in members and "etc/debian_version" in members
    assert "dev" in members and "dev/null" not in members
    assert "etc/resolv.conf" not in members
    assert "var/lib/apt/lists" in members and "var/lib/apt/lists/big_Packages" not in members


def test_debian_without_latest(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    image = bootstrap_debian(
        store,
        "trixie",
        tag="debian:trixie",
        also_latest=False,
        mirror="http://m/debian",
        workdir=tmp_path,
        run=FakeDebootstrap(),
    )
    assert image.repo_tags == ("debian:trixie",)


def test_debian_failure_cleans_up(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(Unavailable, match="debootstrap failed"):
        bootstrap_debian(
            store, workdir=work, mirror="http://m/debian", run=FakeDebootstrap(fail=True)
        )
    assert list(work.iterdir()) == []
    assert store.list(ImageFilters(all=True)) == []


def test_debian_without_debootstrap(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    with pytest.raises(NotFound, match="apt-get install debootstrap"):
        bootstrap_debian(
            store,
            workdir=tmp_path,
            mirror="http://m/debian",
            debootstrap="/nonexistent/debootstrap",
        )


@pytest.mark.skipif(os.geteuid() == 0, reason="checks the refusal without root")
def test_debian_needs_root(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="needs root"):
        bootstrap_debian(new_store(tmp_path), workdir=tmp_path, mirror="http://m/debian")


def test_apt_mirror(tmp_path: Path) -> None:
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    assert apt_mirror("bookworm", apt) == "http://deb.debian.org/debian"
    (apt / "sources.list.d/debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb deb-src\n# a comment\nURIs: http://mirror.example/debian/\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
    )
    assert apt_mirror("bookworm", apt) == "http://mirror.example/debian"
    (apt / "sources.list").write_text("deb [arch=amd64] http://other.example/debian trixie main\n")
    assert apt_mirror("trixie", apt) == "http://other.example/debian"
