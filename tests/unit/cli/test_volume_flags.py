"""-v, --mount and --volumes-from become the create body docker CLI 28 sends (recorded from
`docker create` against a recording socket with the same flags)."""

from __future__ import annotations

import argparse

import pytest

from estiba.cli.container_options import add_create_flags, create_body, mount_flag
from estiba.errors import InvalidArgument

FLAGS = [
    "-v", "data:/data:ro", "-v", "/host:/h:rw,rslave", "-v", "/anon", "-v", "./rel:/rel",
    "--mount", "type=volume,source=mv,target=/mv,volume-nocopy,volume-opt=type=tmpfs,volume-opt=device=tmpfs,"
               "volume-label=a=b",
    "--mount", "type=bind,src=/srv,dst=/srv,readonly,bind-propagation=shared",
    "--mount", "type=tmpfs,dst=/tm,tmpfs-size=1m,tmpfs-mode=1770",
    "--mount", "target=/anon2",
    "--volumes-from", "other:ro",
    "busybox",
]  # fmt: skip

DOCKERS = {
    "Volumes": {"/anon": {}},
    "Binds": ["data:/data:ro", "/host:/h:rw,rslave", "{cwd}/rel:/rel"],
    "Mounts": [
        {"Type": "volume", "Source": "mv", "Target": "/mv",
         "VolumeOptions": {"NoCopy": True, "Labels": {"a": "b"},
                           "DriverConfig": {"Options": {"device": "tmpfs", "type": "tmpfs"}}}},
        {"Type": "bind", "Source": "/srv", "Target": "/srv", "ReadOnly": True,
         "BindOptions": {"Propagation": "shared"}},
        {"Type": "tmpfs", "Target": "/tm", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 1016}},
        {"Type": "volume", "Target": "/anon2"},
    ],
    "VolumesFrom": ["other:ro"],
}  # fmt: skip


def test_the_body_is_dockers(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser(add_help=False)
    add_create_flags(parser)
    body = create_body(parser.parse_args(FLAGS))
    host = body["HostConfig"]
    assert body["Volumes"] == DOCKERS["Volumes"]
    assert host["Binds"] == [b.format(cwd=tmp_path) for b in DOCKERS["Binds"]]
    assert host["Mounts"] == DOCKERS["Mounts"]
    assert host["VolumesFrom"] == DOCKERS["VolumesFrom"]


def test_without_volume_flags_nothing_is_added() -> None:
    parser = argparse.ArgumentParser(add_help=False)
    add_create_flags(parser)
    body = create_body(parser.parse_args(["busybox"]))
    assert body["Volumes"] == {}
    assert not {"Binds", "Mounts", "VolumesFrom"} & set(body["HostConfig"])


@pytest.mark.parametrize("spec", ["type=volume,bogus=1", "type=bind,src", "type=tmpfs,tmpfs-mode=9z"])
def test_bad_mount_flags(spec: str) -> None:
    with pytest.raises(InvalidArgument):
        mount_flag(spec)
