"""Images that skopeo (the independent client) copies into the registry from an OCI
layout the test makes: a two-platform index pulls the host's entry, `--platform` the other,
and the amd64 one runs."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import platform
import tarfile
from pathlib import Path

import pytest

from tests.integration.distribution.registry import Registry, skopeo

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _blob(layout: Path, data: bytes) -> dict:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest[7:]).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def _rootfs_layer(rootfs: Path) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(rootfs, arcname=".")
    tar_bytes = buffer.getvalue()
    return gzip.compress(tar_bytes, mtime=0), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def make_layout(layout: Path, rootfs: Path) -> dict[str, str]:
    """An OCI layout whose index has linux/amd64 and linux/arm64 images of the same
    rootfs; returns each platform's config digest (the image id)."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    layer, diff_id = _rootfs_layer(rootfs)
    layer_desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **_blob(layout, layer)}
    manifests, ids = [], {}
    for arch, variant in (("amd64", None), ("arm64", "v8")):
        config = {"architecture": arch, "os": "linux", "config": {"Cmd": ["sh"]},
                  "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                  "history": [{"created_by": f"test {arch}"}]}  # fmt: skip
        if variant:
            config["variant"] = variant
        config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json",
                       **_blob(layout, json.dumps(config).encode())}  # fmt: skip
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config_desc,
                    "layers": [layer_desc]}  # fmt: skip
        platform_doc = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
        manifests.append({"mediaType": OCI_MANIFEST, **_blob(layout, json.dumps(manifest).encode()),
                          "platform": platform_doc})  # fmt: skip
        ids[arch] = config_desc["digest"]
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    top = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_INDEX, **_blob(layout, json.dumps(index).encode()),
         "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}  # fmt: skip
    (layout / "index.json").write_text(json.dumps(top))
    return ids


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the test's host entry is amd64")
def test_skopeo_copied_index_pulls_per_platform(
    make_daemon, registry: Registry, busybox_rootfs: Path, tmp_path: Path
) -> None:
    ids = make_layout(tmp_path / "layout", busybox_rootfs)
    name = f"{registry.host}/skopeo/multi:1"
    copied = skopeo("copy", "--all", "--dest-tls-verify=false",
                    f"oci:{tmp_path / 'layout'}:multi", f"docker://{name}")  # fmt: skip
    assert copied.returncode == 0, copied.stderr

    daemon = make_daemon()
    daemon.start()
    pulled = daemon.estiba("pull", name).stdout.decode()
    assert "Pull complete" in pulled
    image = json.loads(daemon.estiba("image", "inspect", name).stdout)[0]
    assert image["Id"] == ids["amd64"]
    assert image["Architecture"] == "amd64"
    out = daemon.estiba("run", "--rm", name, "echo", "copied by skopeo").stdout
    assert b"copied by skopeo" in out

    arm = f"{registry.host}/skopeo/multi:1"
    daemon.estiba("pull", "--platform", "linux/arm64", arm)
    image = json.loads(daemon.estiba("image", "inspect", arm).stdout)[0]
    assert image["Id"] == ids["arm64"] and image["Architecture"] == "arm64"
    missing = daemon.estiba("pull", "--platform", "linux/s390x", arm, check=False)
    assert missing.returncode == 1 and b"linux/s390x" in missing.stderr
