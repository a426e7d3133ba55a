"""config.json parsing: typed results, and one clear error naming the field for bad input."""

from __future__ import annotations

import json

import pytest

from estiba.errors import InvalidArgument, NotFound
from estiba.runtime.spec import load_bundle, parse_spec
from estiba.runtime.specgen import default_spec


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / "rootfs").mkdir()
    return tmp_path


def parse(bundle, edit=None):
    spec = default_spec(args=["/bin/true"])
    if edit:
        edit(spec)
    return parse_spec(spec, str(bundle))


def test_default_spec_parses_into_typed_fields(bundle):
    spec = parse(bundle)
    assert spec.root_path == str((bundle / "rootfs").resolve())
    assert spec.root_readonly is True
    assert spec.process.args == ("/bin/true",)
    assert spec.process.no_new_privileges is True
    assert spec.process.rlimits[0].type == "RLIMIT_NOFILE"
    assert "CAP_KILL" in spec.process.capabilities.bounding
    assert [ns.type for ns in spec.linux.namespaces] == ["pid", "network", "ipc", "uts", "mount"]
    assert spec.mounts[0].destination == "/proc" and spec.mounts[0].type == "proc"
    assert spec.linux.resources.devices[0].allow is False
    assert "/proc/kcore" in spec.linux.masked_paths


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s["linux"]["namespaces"].append({"type": "foo"}),
         'config.json: linux.namespaces[5].type: unknown namespace type "foo"'),
        (lambda s: s["linux"]["namespaces"].append({"type": "pid"}),
         'config.json: linux.namespaces[5].type: namespace "pid" is listed twice'),
        (lambda s: s["process"].update(args=[]), "config.json: process.args: must name the program to run"),
        (lambda s: s["process"].update(cwd="relative"), "config.json: process.cwd: \"relative\" must be an absolute path"),
        (lambda s: s["process"]["rlimits"].append({"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}),
         'config.json: process.rlimits[1].type: unknown rlimit "RLIMIT_BOGUS"'),
        (lambda s: s["mounts"].append({"destination": "relative"}),
         'config.json: mounts[7].destination: "relative" must be an absolute path'),
        (lambda s: s["process"]["user"].update(uid="0"), "config.json: process.user.uid: must be an integer"),
        (lambda s: s["linux"].update(rootfsPropagation="sideways"),
         'config.json: linux.rootfsPropagation: unknown propagation "sideways"'),
        (lambda s: s["linux"].update(devices=[{"path": "/dev/x", "type": "z", "major": 1, "minor": 1}]),
         'config.json: linux.devices[0].type: unknown device type "z" (use c, b, u or p)'),
        (lambda s: s["hooks"] if False else s.update(hooks={"prestart": [{"path": "rel"}]}),
         "config.json: hooks.prestart[0].path: must be an absolute path"),
        (lambda s: s["linux"]["namespaces"].append({"type": "user"}),
         "config.json: linux.uidMappings: a new user namespace needs uidMappings and gidMappings"),
        (lambda s: s["linux"].update(namespaces=[{"type": "pid"}]),
         'config.json: linux.namespaces: must include a "mount" namespace'),
        (lambda s: s["linux"].update(resources={"memory": {"limit": "lots"}}),
         "linux.resources.memory.limit"),
        (lambda s: s["linux"].update(seccomp={"defaultAction": "SCMP_ACT_NOPE"}),
         "config.json: linux.seccomp.defaultAction"),
    ],
)
def test_bad_fields_name_the_field(bundle, edit, message):
    with pytest.raises(InvalidArgument) as caught:
        parse(bundle, edit)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_rootfs_is_not_found_with_a_hint(tmp_path):
    spec = default_spec(args=["/bin/true"])
    with pytest.raises(NotFound) as caught:
        parse_spec(spec, str(tmp_path))
    assert "rootfs" in str(caught.value) and "does not exist" in str(caught.value)


def test_namespace_path_must_exist(bundle):
    def edit(spec):
        spec["linux"]["namespaces"].append({"type": "cgroup", "path": "/proc/nonexistent/ns/cgroup"})

    with pytest.raises(NotFound, match="linux.namespaces\\[5\\].path"):
        parse(bundle, edit)


def test_load_bundle_reports_invalid_json(bundle):
    (bundle / "config.json").write_text("{not json")
    with pytest.raises(InvalidArgument, match="invalid JSON"):
        load_bundle(str(bundle))


def test_load_bundle_without_config(bundle):
    with pytest.raises(NotFound, match="no config.json"):
        load_bundle(str(bundle))


def test_load_bundle_roundtrip(bundle):
    (bundle / "config.json").write_text(json.dumps(default_spec(args=["sh"])))
    spec, raw = load_bundle(str(bundle))
    assert spec.process.args == ("sh",)
    assert raw["ociVersion"] == spec.oci_version


def test_env_value_lookup(bundle):
    spec = parse(bundle)
    assert spec.process.env_value("PATH").startswith("/usr/local/sbin")
    assert spec.process.env_value("NOPE") is None
