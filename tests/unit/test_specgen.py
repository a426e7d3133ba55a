"""default_spec writes what `runc spec` writes, valid per the OCI schema; write_bundle is atomic."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from estiba.runtime.specgen import default_spec, write_bundle

SCHEMA_DIR = Path(
    os.environ.get(
        "ESTIBA_OCI_SCHEMA_DIR",
        Path(__file__).resolve().parents[3] / "shared/reference/oci-runtime-spec-schema",
    )
)
RUNC = shutil.which("runc") or ("/usr/sbin/runc" if os.access("/usr/sbin/runc", os.X_OK) else None)

needs_runc = pytest.mark.skipif(RUNC is None, reason="runc not installed")


@pytest.fixture(scope="module")
def config_validator():
    """A draft-4 validator for config-schema.json whose relative $refs (defs.json, ...)
    resolve to the sibling files through a referencing registry."""
    if not (SCHEMA_DIR / "config-schema.json").exists():
        pytest.skip(f"OCI runtime schemas not found in {SCHEMA_DIR} (set ESTIBA_OCI_SCHEMA_DIR)")
    import jsonschema
    from referencing import Registry
    from referencing.jsonschema import DRAFT4

    registry = Registry()
    for path in SCHEMA_DIR.glob("*.json"):
        resource = DRAFT4.create_resource(json.loads(path.read_text()))
        registry = registry.with_resource(path.resolve().as_uri(), resource)
    root = {"$ref": (SCHEMA_DIR / "config-schema.json").resolve().as_uri()}
    return jsonschema.Draft4Validator(root, registry=registry)


def runc_spec(tmp_path: Path, *extra: str) -> tuple[dict, str]:
    subprocess.run([RUNC, "spec", "--bundle", str(tmp_path), *extra], check=True)
    text = (tmp_path / "config.json").read_text()
    return json.loads(text), text


@needs_runc
@pytest.mark.parametrize("rootless", [False, True], ids=["default", "rootless"])
def test_default_spec_equals_runc_spec(tmp_path: Path, rootless: bool) -> None:
    (tmp_path / "runc").mkdir()
    expected, expected_text = runc_spec(tmp_path / "runc", *(["--rootless"] if rootless else []))

    ours = default_spec(terminal=True, rootless=rootless)
    assert ours == expected
    # Same bytes on disk too, so both runtimes read the very same file.
    config = write_bundle(tmp_path / "ours", ours)
    assert config.read_text() == expected_text


@needs_runc
def test_default_spec_differs_from_runc_only_where_asked(tmp_path: Path) -> None:
    expected, _ = runc_spec(tmp_path)
    expected["process"]["terminal"] = False
    expected["process"]["args"] = ["/bin/echo", "hi"]
    expected["root"]["path"] = "/abs/rootfs"

    assert default_spec(args=["/bin/echo", "hi"], rootfs="/abs/rootfs") == expected


def test_default_spec_arguments() -> None:
    spec = default_spec(args=["/bin/true"], terminal=True, rootfs="fs")
    assert spec["process"]["args"] == ["/bin/true"]
    assert spec["process"]["terminal"] is True
    assert spec["root"] == {"path": "fs", "readonly": True}
    assert default_spec()["process"]["args"] == ["sh"]
    assert default_spec()["process"]["terminal"] is False


def test_rootless_spec_maps_given_ids_and_drops_host_only_settings() -> None:
    spec = default_spec(rootless=True, host_uid=1234, host_gid=5678)
    linux = spec["linux"]
    assert linux["uidMappings"] == [{"containerID": 0, "hostID": 1234, "size": 1}]
    assert linux["gidMappings"] == [{"containerID": 0, "hostID": 5678, "size": 1}]
    assert [ns["type"] for ns in linux["namespaces"]] == ["pid", "ipc", "uts", "mount", "user"]
    assert "resources" not in linux
    sys_mount = next(m for m in spec["mounts"] if m["destination"] == "/sys")
    assert sys_mount == {
        "destination": "/sys",
        "type": "none",
        "source": "/sys",
        "options": ["rbind", "nosuid", "noexec", "nodev", "ro"],
    }
    options = [opt for m in spec["mounts"] for opt in m.get("options", [])]
    assert not [opt for opt in options if opt.startswith(("uid=", "gid="))]


def test_default_spec_returns_independent_objects() -> None:
    first = default_spec(args=["a"])
    args = ["x"]
    second = default_spec(args=args)
    first["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
    first["mounts"][0]["options"] = ["ro"]
    first["linux"]["maskedPaths"].clear()
    args.append("y")

    third = default_spec(args=["x"])
    assert second == third
    assert second["process"]["args"] == ["x"]


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"terminal": True}, {"rootless": True}, {"args": ["/bin/sh", "-c", "id"], "rootfs": "/r"}],
    ids=["default", "terminal", "rootless", "args"],
)
def test_default_spec_is_valid_per_oci_schema(config_validator, kwargs) -> None:
    errors = [e.message for e in config_validator.iter_errors(default_spec(**kwargs))]
    assert errors == []


def test_schema_validator_rejects_a_broken_spec(config_validator) -> None:
    spec = default_spec()
    spec["process"]["user"]["uid"] = -1
    spec["linux"]["namespaces"].append({"type": "no-such-namespace"})
    del spec["ociVersion"]
    assert len(list(config_validator.iter_errors(spec))) >= 3


def test_write_bundle_writes_json_atomically(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    first = write_bundle(bundle, default_spec(args=["one"]))
    second = write_bundle(bundle, default_spec(args=["two"]))

    assert first == second == bundle / "config.json"
    assert json.loads(second.read_text())["process"]["args"] == ["two"]
    assert sorted(p.name for p in bundle.iterdir()) == ["config.json"]
    assert second.stat().st_mode & 0o777 == 0o644


def test_write_bundle_touches_nothing_when_the_spec_is_not_json(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_bundle(tmp_path, {"not json": object()})
    assert list(tmp_path.iterdir()) == []
