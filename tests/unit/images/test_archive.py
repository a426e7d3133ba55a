"""docker-archive save/load: Docker 20.10's layout, Docker 25's OCI layout, verification."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from estiba.content import LocalContentStore, MemoryContentStore
from estiba.errors import InvalidArgument, NotFound
from estiba.images import ImageFilters, ImageStore, load, save
from estiba.images import mediatypes as mt
from estiba.images.model import host_platform

from tests.unit.images._helpers import layer, make_image


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(files: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buf.getvalue()


def read_tar(data: bytes) -> dict[str, tarfile.TarInfo | bytes]:
    out: dict[str, Any] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            f = tar.extractfile(member) if member.isreg() else None
            out[member.name] = f.read() if f else member
    return out


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "a.db", LocalContentStore(tmp_path / "a"))


@pytest.fixture
def other(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "b.db", LocalContentStore(tmp_path / "b"))


# --- a hand-built archive, as `docker save busybox:latest` (20.10) writes it ----------------

LAYER1 = tar_bytes({"bin/sh": b"#!fake shell\n"})
LAYER2 = tar_bytes({"etc/motd": b"ola mundo\n"})
GOLDEN_CONFIG = json.dumps(
    {
        "architecture": "amd64",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
        },
        "created": "2023-07-18T23:19:33.655005962Z",
        "docker_version": "20.10.23",
        "history": [
            {
                "created": "2023-07-18T23:19:33.538571854Z",
                "created_by": "/bin/sh -c #(nop) ADD file:abc in / ",
            },
            {
                "created": "2023-07-18T23:19:33.600000000Z",
                "created_by": "/bin/sh -c #(nop) COPY motd /etc/",
            },
            {
                "created": "2023-07-18T23:19:33.655005962Z",
                "created_by": '/bin/sh -c #(nop)  CMD ["sh"]',
                "empty_layer": True,
            },
        ],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha(LAYER1), sha(LAYER2)]},
    },
    indent=None,
).encode()
GOLDEN_ID = sha(GOLDEN_CONFIG)
V1A, V1B = "a" * 64, "b" * 64


def golden_archive(
    *, layer2: bytes = LAYER2, config: bytes = GOLDEN_CONFIG, config_name: str | None = None
) -> bytes:
    config_name = config_name or GOLDEN_ID[7:] + ".json"
    files = {
        config_name: config,
        f"{V1A}/VERSION": b"1.0",
        f"{V1A}/json": json.dumps({"id": V1A, "created": "1970-01-01T00:00:00Z"}).encode(),
        f"{V1A}/layer.tar": LAYER1,
        f"{V1B}/VERSION": b"1.0",
        f"{V1B}/json": json.dumps({"id": V1B, "parent": V1A}).encode(),
        f"{V1B}/layer.tar": layer2,
        "manifest.json": json.dumps(
            [
                {
                    "Config": config_name,
                    "RepoTags": ["busybox:latest", "localhost:5000/bb:1"],
                    "Layers": [f"{V1A}/layer.tar", f"{V1B}/layer.tar"],
                }
            ]
        ).encode(),
        "repositories": json.dumps({"busybox": {"latest": V1B}}).encode(),
    }
    return tar_bytes(files)


def test_golden_docker_archive_loads(store: ImageStore) -> None:
    loaded = load(store, io.BytesIO(golden_archive()))
    assert [(i.id, i.tags) for i in loaded] == [
        (GOLDEN_ID, ("busybox:latest", "localhost:5000/bb:1"))
    ]
    image = store.get("busybox")
    assert image.id == GOLDEN_ID and store.get("localhost:5000/bb:1").id == GOLDEN_ID
    from estiba.content import read_blob

    assert read_blob(store.content, GOLDEN_ID) == GOLDEN_CONFIG, "config bytes kept as they were"
    layers = store.layers("busybox")
    assert [d for d, _ in layers] == [sha(LAYER1), sha(LAYER2)]
    assert [blob.digest for _, blob in layers] == [sha(LAYER1), sha(LAYER2)]
    assert store.config("busybox").config.cmd == ("sh",)


def test_golden_archive_saves_back_in_the_same_shape(store: ImageStore) -> None:
    load(store, io.BytesIO(golden_archive()))
    out = io.BytesIO()
    save(store, ["busybox:latest"], out)
    files = read_tar(out.getvalue())
    (entry,) = json.loads(files["manifest.json"])
    assert entry["Config"] == GOLDEN_ID[7:] + ".json"
    assert entry["RepoTags"] == ["busybox:latest"]
    assert files[entry["Config"]] == GOLDEN_CONFIG
    assert [files[path] for path in entry["Layers"]] == [LAYER1, LAYER2]
    top = entry["Layers"][-1].split("/")[0]
    bottom = entry["Layers"][0].split("/")[0]
    assert json.loads(files["repositories"]) == {"busybox": {"latest": top}}
    assert files[f"{top}/VERSION"] == b"1.0"
    top_json = json.loads(files[f"{top}/json"])
    assert (
        top_json["id"] == top
        and top_json["parent"] == bottom
        and top_json["config"]["Cmd"] == ["sh"]
    )
    assert "parent" not in json.loads(files[f"{bottom}/json"])
    assert isinstance(files[top], tarfile.TarInfo) and files[top].isdir()
    names = [n for n in files]
    assert names == sorted(names), "entries in lexical order, like docker's"


def test_golden_archive_gzip_layers_and_compressed_archive(store: ImageStore) -> None:
    archive = gzip.compress(golden_archive(layer2=gzip.compress(LAYER2)))
    load(store, io.BytesIO(archive))
    ((_, top),) = store.layers("busybox")[1:]
    assert top.media_type == mt.OCI_LAYER_GZIP and top.digest != sha(LAYER2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layer2": LAYER1}, "diff_id mismatch"),
        ({"config_name": "f" * 64 + ".json"}, "digest mismatch"),
        ({"config": GOLDEN_CONFIG.replace(b'"sh"]}', b'"bash"]}')}, "digest mismatch"),
    ],
)
def test_corrupt_golden_archives_load_nothing(
    store: ImageStore, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        load(store, io.BytesIO(golden_archive(**kwargs)))
    assert store.list(ImageFilters(all=True)) == []


def test_archives_missing_parts(store: ImageStore) -> None:
    with pytest.raises(InvalidArgument, match="no manifest.json or index.json"):
        load(store, io.BytesIO(tar_bytes({"x": b"y"})))
    with pytest.raises(InvalidArgument, match="not a tar"):
        load(store, io.BytesIO(b"garbage" * 200))
    manifest = json.dumps([{"Config": "c.json", "Layers": []}]).encode()
    with pytest.raises(InvalidArgument, match="no file 'c.json'"):
        load(store, io.BytesIO(tar_bytes({"manifest.json": manifest})))
    with pytest.raises(InvalidArgument, match="JSON array"):
        load(store, io.BytesIO(tar_bytes({"manifest.json": b"{}"})))


def test_hostile_member_names_stay_inside(store: ImageStore, tmp_path: Path) -> None:
    archive = golden_archive()
    extra = tar_bytes({"../../escaped": b"x", "/abs": b"y"})
    with pytest.raises(InvalidArgument):
        load(store, io.BytesIO(extra))
    assert not (tmp_path.parent / "escaped").exists() and not Path("/abs").exists()
    load(store, io.BytesIO(archive))


# --- round trips ----------------------------------------------------------------------------


def test_round_trip_several_images_with_shared_layers(store: ImageStore, other: ImageStore) -> None:
    base = make_image(store, "base", refs=["base:1"])
    app = make_image(store, "base", "app", refs=["app:1", "app:2"])
    out = io.BytesIO()
    save(store, ["app", "base:1"], out)
    files = read_tar(out.getvalue())
    assert sorted(t for e in json.loads(files["manifest.json"]) for t in e["RepoTags"]) == [
        "app:1",
        "app:2",
        "base:1",
    ]
    loaded = load(other, io.BytesIO(out.getvalue()))
    assert {i.id for i in loaded} == {base, app}
    assert other.get("app:2").id == app and other.get("base:1").id == base
    assert [d for d, _ in other.layers(app)] == [d for d, _ in store.layers(app)]


def test_save_by_id_is_untagged(store: ImageStore, other: ImageStore) -> None:
    image_id = make_image(store, "x", refs=["x:1"])
    out = io.BytesIO()
    save(store, [image_id[7:19]], out)
    files = read_tar(out.getvalue())
    assert json.loads(files["manifest.json"])[0]["RepoTags"] is None
    assert "repositories" not in files
    (loaded,) = load(other, io.BytesIO(out.getvalue()))
    assert loaded.tags == () and other.get(image_id).dangling


def test_save_gzip_layers_as_plain_tars(tmp_path: Path) -> None:
    from estiba.images import single_layer_image
    from estiba.images.layers import layer_from_dir

    store = ImageStore(tmp_path / "db", MemoryContentStore())
    (tmp_path / "root").mkdir()
    (tmp_path / "root/file").write_text("data\n")
    blob, diff_id = layer_from_dir(tmp_path / "root", store.content)
    single_layer_image(store, blob, diff_id, refs=["gz"])
    out = io.BytesIO()
    save(store, ["gz"], out)
    files = read_tar(out.getvalue())
    (layer_path,) = json.loads(files["manifest.json"])[0]["Layers"]
    assert sha(files[layer_path]) == diff_id  # type: ignore[arg-type]


def test_repeated_layer_is_linked(store: ImageStore, other: ImageStore) -> None:
    image_id = make_image(store, "same", "other", "same", refs=["rep"])
    out = io.BytesIO()
    save(store, ["rep"], out)
    files = read_tar(out.getvalue())
    layers = json.loads(files["manifest.json"])[0]["Layers"]
    assert len(set(layers)) == 3
    link = files[layers[2]]
    assert isinstance(link, tarfile.TarInfo) and link.issym() and link.linkname == f"../{layers[0]}"
    load(other, io.BytesIO(out.getvalue()))
    assert other.get("rep").id == image_id


def test_save_unknown_image(store: ImageStore) -> None:
    with pytest.raises(NotFound):
        save(store, ["nope:1"], io.BytesIO())
    with pytest.raises(NotFound):
        save(store, [], io.BytesIO())


# --- Docker 25+: OCI layout inside the docker-archive -----------------------------------------


def oci_archive(
    *, with_manifest_json: bool, nested_index: bool = False, corrupt: str = ""
) -> tuple[bytes, str]:
    config = json.dumps(
        {
            "architecture": host_platform().architecture,
            "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [sha(LAYER1)]},
            "history": [{"created_by": "x"}],
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": sha(config), "size": len(config)},
            "layers": [{"mediaType": mt.OCI_LAYER, "digest": sha(LAYER1), "size": len(LAYER1)}],
        }
    ).encode()
    blobs = {sha(config): config, sha(manifest): manifest, sha(LAYER1): LAYER1}
    top = {"mediaType": mt.OCI_MANIFEST, "digest": sha(manifest), "size": len(manifest)}
    if nested_index:
        other = {
            "mediaType": mt.OCI_MANIFEST,
            "digest": "sha256:" + "e" * 64,
            "size": 1,
            "platform": {"os": "linux", "architecture": "s390x"},
        }
        mine = dict(top, platform=host_platform().to_json())
        inner = json.dumps(
            {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [other, mine]}
        ).encode()
        blobs[sha(inner)] = inner
        top = {"mediaType": mt.OCI_INDEX, "digest": sha(inner), "size": len(inner)}
    top["annotations"] = {
        "io.containerd.image.name": "docker.io/library/busybox:latest",
        "org.opencontainers.image.ref.name": "latest",
    }
    files = {f"blobs/sha256/{d[7:]}": data for d, data in blobs.items()}
    if corrupt:
        files[f"blobs/sha256/{sha({'layer': LAYER1, 'config': config}[corrupt])[7:]}"] = LAYER2
    files["index.json"] = json.dumps(
        {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [top]}
    ).encode()
    files["oci-layout"] = b'{"imageLayoutVersion":"1.0.0"}'
    if with_manifest_json:
        files["manifest.json"] = json.dumps(
            [
                {
                    "Config": f"blobs/sha256/{sha(config)[7:]}",
                    "RepoTags": ["busybox:latest"],
                    "Layers": [f"blobs/sha256/{sha(LAYER1)[7:]}"],
                }
            ]
        ).encode()
    return tar_bytes(files), sha(config)


@pytest.mark.parametrize("with_manifest_json", [True, False])
def test_docker25_archive_loads(store: ImageStore, with_manifest_json: bool) -> None:
    archive, image_id = oci_archive(with_manifest_json=with_manifest_json)
    (loaded,) = load(store, io.BytesIO(archive))
    assert loaded.id == image_id and loaded.tags == ("busybox:latest",)
    assert store.get("busybox").id == image_id
    assert [d for d, _ in store.layers("busybox")] == [sha(LAYER1)]


def test_oci_layout_with_platform_index(store: ImageStore) -> None:
    archive, image_id = oci_archive(with_manifest_json=False, nested_index=True)
    (loaded,) = load(store, io.BytesIO(archive))
    assert loaded.id == image_id and store.get("busybox").id == image_id


@pytest.mark.parametrize("with_manifest_json", [True, False])
@pytest.mark.parametrize("corrupt", ["layer", "config"])
def test_docker25_archive_with_corrupt_blob(
    store: ImageStore, with_manifest_json: bool, corrupt: str
) -> None:
    archive, _ = oci_archive(with_manifest_json=with_manifest_json, corrupt=corrupt)
    with pytest.raises(InvalidArgument, match="mismatch"):
        load(store, io.BytesIO(archive))
    assert store.list(ImageFilters(all=True)) == []


def test_oci_layout_version_checked(store: ImageStore) -> None:
    from estiba.errors import Unsupported

    files = {
        "index.json": b'{"schemaVersion":2,"manifests":[]}',
        "oci-layout": b'{"imageLayoutVersion":"9"}',
    }
    with pytest.raises(Unsupported, match="layout version"):
        load(store, io.BytesIO(tar_bytes(files)))


def test_layer_made_here_round_trips(store: ImageStore, other: ImageStore) -> None:
    make_image(store, "x", refs=["x"])
    data = io.BytesIO()
    save(store, ["x"], data)
    again = io.BytesIO()
    load(other, io.BytesIO(data.getvalue()))
    save(other, ["x"], again)
    assert data.getvalue() == again.getvalue(), "save is deterministic across stores"
    assert layer(other.content, "x").digest == store.layers("x")[0][1].digest


def test_image_without_layers_round_trips(store: ImageStore, other: ImageStore) -> None:
    from estiba.images import ImageConfig, write_image

    config = ImageConfig("amd64", "linux")
    store.add(write_image(store.content, config, []).digest, refs=["empty"])
    out = io.BytesIO()
    save(store, ["empty"], out)
    assert "repositories" not in read_tar(out.getvalue())
    (loaded,) = load(other, io.BytesIO(out.getvalue()))
    assert loaded.tags == ("empty:latest",)
