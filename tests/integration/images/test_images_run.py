"""Bootstrapped images are real: their layer, unpacked as root, runs under the OCI runtime."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from estiba.content import LocalContentStore
from estiba.images import ImageStore, bootstrap_busybox, bootstrap_debian, open_layer
from estiba.runtime.specgen import default_spec, write_bundle


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images.db", LocalContentStore(tmp_path / "content"))


@pytest.fixture
def bundles() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="estiba-imgrun-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def image_bundle(store: ImageStore, ref: str, base: Path, args: list[str]) -> Path:
    """A bundle whose rootfs is the image's layers, unpacked with owners, modes and devices."""
    bundle = base / uuid.uuid4().hex[:8]
    rootfs = bundle / "rootfs"
    rootfs.mkdir(parents=True)
    for _, blob in store.layers(ref):
        with open_layer(store.content, blob) as reader:
            subprocess.run(
                ["tar", "-x", "-p", "--numeric-owner", "-C", str(rootfs)],
                input=reader.read(),
                check=True,
            )
    config = store.config(ref).config
    spec = default_spec(args=args)
    spec["process"]["env"] = list(config.env)
    write_bundle(bundle, spec)
    return bundle


def test_busybox_image_runs(store: ImageStore, bundles: Path, estiba_runtime) -> None:  # type: ignore[no-untyped-def]
    bootstrap_busybox(store)
    bundle = image_bundle(
        store, "busybox", bundles, ["sh", "-c", "echo Ola Mundo; id -u; ls -ld /tmp"]
    )
    result = estiba_runtime.run(bundle, f"img-{uuid.uuid4().hex[:8]}", check=True)
    lines = result.stdout.splitlines()
    assert lines[:2] == ["Ola Mundo", "0"]
    assert lines[2].startswith("drwxrwxrwt")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_debian_bootstrap_runs(store: ImageStore, bundles: Path, estiba_runtime) -> None:  # type: ignore[no-untyped-def]
    image = bootstrap_debian(store)
    assert set(image.repo_tags) == {"debian:bookworm", "debian:latest"}
    assert store.get("debian").id == image.id
    assert not list(Path("/var/tmp").glob("estiba-debootstrap-*")), "the build tree is gone"
    bundle = image_bundle(
        store, "debian", bundles, ["bash", "-c", "cat /etc/issue; echo Ola Mundo!"]
    )
    result = estiba_runtime.run(bundle, f"deb-{uuid.uuid4().hex[:8]}", check=True)
    assert "Debian GNU/Linux 12" in result.stdout
    assert result.stdout.rstrip().endswith("Ola Mundo!")
