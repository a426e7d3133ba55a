"""The image model parses Docker's and OCI's JSON, serialises canonically, and what it
writes validates against the OCI image-spec schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from estiba.content import Descriptor, Platform
from estiba.errors import InvalidArgument, NotFound, Unsupported
from estiba.images import (
    ContainerConfig,
    Healthcheck,
    History,
    ImageConfig,
    Index,
    Manifest,
    canonical_json,
    host_platform,
    parse_manifest,
)
from estiba.images import mediatypes as mt

SCHEMAS = Path(__file__).resolve().parents[4] / "shared/reference/oci-image-spec-schema"
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64

# A config as Docker writes it (non-canonical, with fields we do not model).
DOCKER_CONFIG = {
    "architecture": "amd64",
    "config": {
        "Hostname": "",
        "User": "app",
        "ExposedPorts": {"80/tcp": {}, "443/tcp": {}},
        "Env": ["PATH=/usr/bin:/bin", "A=b=c"],
        "Entrypoint": ["/entry"],
        "Cmd": ["serve", "--port", "80"],
        "Volumes": {"/data": {}},
        "WorkingDir": "/srv",
        "Labels": {"org.example": "yes"},
        "StopSignal": "SIGQUIT",
        "Healthcheck": {"Test": ["CMD", "true"], "Interval": 30000000000, "Retries": 3},
        "OnBuild": None,
    },
    "container": "abc",
    "created": "2023-05-01T12:00:00.123456789Z",
    "docker_version": "20.10.24",
    "history": [
        {"created": "2023-05-01T12:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:x in / "},
        {
            "created": "2023-05-01T12:00:01Z",
            "created_by": '/bin/sh -c #(nop)  CMD ["sh"]',
            "empty_layer": True,
        },
    ],
    "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [D1, D2]},
}


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        resource = Resource.from_contents(
            json.loads(path.read_text()), default_specification=DRAFT4
        )
        for base in (
            "https://opencontainers.org/schema/image/",
            "https://opencontainers.org/schema/",
        ):
            resources.append((base + path.name, resource))
    return Registry().with_resources(resources)


def validate(schema_file: str, document: Any) -> None:
    schema = json.loads((SCHEMAS / schema_file).read_text())
    validator = jsonschema.Draft4Validator(
        schema, registry=_registry(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    validator.validate(document)


def test_parse_docker_config() -> None:
    config = ImageConfig.from_bytes(json.dumps(DOCKER_CONFIG).encode())
    c = config.config
    assert (config.architecture, config.os, config.created) == (
        "amd64",
        "linux",
        DOCKER_CONFIG["created"],
    )
    assert c.user == "app" and c.working_dir == "/srv" and c.stop_signal == "SIGQUIT"
    assert c.exposed_ports == ("443/tcp", "80/tcp") and c.volumes == ("/data",)
    assert c.env_dict() == {"PATH": "/usr/bin:/bin", "A": "b=c"}
    assert c.entrypoint == ("/entry",) and c.cmd == ("serve", "--port", "80")
    assert c.labels == {"org.example": "yes"}
    assert c.healthcheck == Healthcheck(test=("CMD", "true"), interval=30_000_000_000, retries=3)
    assert config.diff_ids == (D1, D2)
    assert config.history[1].empty_layer and not config.history[0].empty_layer
    assert config.extra == {"container": "abc", "docker_version": "20.10.24"}
    assert c.extra == {"Hostname": ""}


def test_round_trip_keeps_everything_and_is_canonical() -> None:
    config = ImageConfig.from_bytes(json.dumps(DOCKER_CONFIG).encode())
    data = config.to_bytes()
    assert data == canonical_json(json.loads(data)), "sorted keys, no spaces"
    again = ImageConfig.from_bytes(data)
    assert again == config
    assert again.to_bytes() == data
    out = json.loads(data)
    assert out["container"] == "abc" and out["config"]["Hostname"] == ""
    assert out["config"]["ExposedPorts"] == {"80/tcp": {}, "443/tcp": {}}


def test_unset_and_empty_commands_differ() -> None:
    assert ContainerConfig.from_json({}).cmd is None
    assert ContainerConfig.from_json({"Cmd": []}).cmd == ()
    assert "Cmd" not in ContainerConfig().to_json()
    assert ContainerConfig(cmd=()).to_json()["Cmd"] == []


def test_config_validates_against_oci_schema() -> None:
    config = ImageConfig.from_bytes(json.dumps(DOCKER_CONFIG).encode())
    validate("config-schema.json", json.loads(config.to_bytes()))
    minimal = ImageConfig(architecture="arm64", os="linux", variant="v8", diff_ids=(D1,))
    validate("config-schema.json", minimal.to_json())
    built = ImageConfig(
        architecture="amd64",
        os="linux",
        config=ContainerConfig(env=("PATH=/bin",), cmd=("sh",)),
        diff_ids=(D1,),
        history=(History(created="2024-01-01T00:00:00Z", created_by="x"),),
        created="2024-01-01T00:00:00Z",
        author="estiba",
    )
    validate("config-schema.json", built.to_json())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("rootfs"), "rootfs"),
        (lambda d: d["rootfs"].update(type="x"), "rootfs.type"),
        (lambda d: d["rootfs"].update(diff_ids=["nope"]), "invalid digest"),
        (lambda d: d["config"].update(Env="PATH=/bin"), "Env must be an array"),
        (lambda d: d["config"].update(Labels={"a": 1}), "Labels"),
        (lambda d: d.update(architecture=5), "architecture"),
        (lambda d: d.update(history={}), "history"),
        (lambda d: d["config"].update(ExposedPorts=["80/tcp"]), "ExposedPorts"),
    ],
)
def test_bad_configs(change: Any, message: str) -> None:
    data = json.loads(json.dumps(DOCKER_CONFIG))
    change(data)
    with pytest.raises(InvalidArgument, match=message):
        ImageConfig.from_bytes(json.dumps(data).encode())


def test_config_not_json() -> None:
    with pytest.raises(InvalidArgument, match="not JSON"):
        ImageConfig.from_bytes(b"{nope")
    with pytest.raises(InvalidArgument, match="JSON object"):
        ImageConfig.from_bytes(b"[]")


def _manifest(media_type: str = mt.OCI_MANIFEST) -> Manifest:
    return Manifest(
        config=Descriptor(mt.OCI_CONFIG, D1, 100),
        layers=(Descriptor(mt.OCI_LAYER_GZIP, D2, 200), Descriptor(mt.OCI_LAYER, D3, 300)),
        media_type=media_type,
        annotations={"org.opencontainers.image.title": "x"},
    )


def test_manifest_round_trip_and_schema() -> None:
    manifest = _manifest()
    data = manifest.to_bytes()
    assert parse_manifest(data) == manifest
    validate("image-manifest-schema.json", json.loads(data))


def test_docker_schema2_manifest() -> None:
    body = {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST,
        "config": {"mediaType": mt.DOCKER_CONFIG, "size": 1, "digest": D1},
        "layers": [{"mediaType": mt.DOCKER_LAYER_GZIP, "size": 2, "digest": D2}],
    }
    parsed = parse_manifest(json.dumps(body, indent=3).encode())
    assert isinstance(parsed, Manifest) and parsed.media_type == mt.DOCKER_MANIFEST
    assert parsed.layers[0].media_type == mt.DOCKER_LAYER_GZIP
    assert json.loads(parsed.to_bytes()) == body


def test_index_round_trip_schema_and_select() -> None:
    amd64 = Descriptor(mt.OCI_MANIFEST, D1, 10, platform=Platform("linux", "amd64"))
    arm = Descriptor(mt.OCI_MANIFEST, D2, 10, platform=Platform("linux", "arm", "v7"))
    arm64 = Descriptor(mt.OCI_MANIFEST, D3, 10, platform=Platform("linux", "arm64", "v8"))
    index = Index((amd64, arm, arm64))
    data = index.to_bytes()
    assert parse_manifest(data) == index
    validate("image-index-schema.json", json.loads(data))
    assert index.select(Platform("linux", "amd64")) == amd64
    assert index.select(Platform("linux", "arm64")) == arm64
    with pytest.raises(NotFound, match="linux/arm"):
        index.select(Platform("linux", "arm", "v6"))
    with pytest.raises(NotFound, match="s390x"):
        index.select(Platform("linux", "s390x"))


def test_docker_manifest_list_is_an_index() -> None:
    body = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST_LIST, "manifests": []}
    assert isinstance(parse_manifest(json.dumps(body).encode()), Index)


def test_media_type_guessed_without_field() -> None:
    body = {"schemaVersion": 2, "manifests": []}
    assert isinstance(parse_manifest(json.dumps(body).encode()), Index)
    body = {
        "schemaVersion": 2,
        "config": {"mediaType": mt.OCI_CONFIG, "size": 1, "digest": D1},
        "layers": [],
    }
    assert isinstance(parse_manifest(json.dumps(body).encode()), Manifest)


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ({"schemaVersion": 1, "fsLayers": []}, Unsupported, "schemaVersion 1"),
        ({"schemaVersion": 2, "mediaType": "text/plain"}, Unsupported, "text/plain"),
        (
            {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "layers": []},
            InvalidArgument,
            "descriptor",
        ),
        (
            {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": {}},
            InvalidArgument,
            "array",
        ),
        (
            {
                "schemaVersion": 2,
                "mediaType": mt.OCI_MANIFEST,
                "layers": [],
                "config": {"mediaType": mt.OCI_CONFIG, "size": -1, "digest": D1},
            },
            InvalidArgument,
            "invalid size",
        ),
    ],
)
def test_bad_manifests(body: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_manifest(json.dumps(body).encode())


def test_host_platform() -> None:
    platform = host_platform()
    assert platform.os == "linux" and platform.architecture in (
        "amd64",
        "arm64",
        "arm",
        "386",
        "ppc64le",
        "s390x",
        "riscv64",
    )


def test_descriptor_json_validates() -> None:
    descriptor = Descriptor(
        mt.OCI_MANIFEST,
        D1,
        5,
        annotations={"a": "b"},
        platform=Platform("linux", "amd64"),
        urls=("https://x/y",),
    )
    validate("content-descriptor.json", descriptor.to_json())
    assert Descriptor.from_json(descriptor.to_json()) == descriptor
    assert hash(descriptor) == hash(Descriptor.from_json(descriptor.to_json()))
