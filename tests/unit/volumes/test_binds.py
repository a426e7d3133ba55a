"""A container's mounts from -v, --mount, --volumes-from and VOLUME, resolved as dockerd does."""

from __future__ import annotations

import pytest

from estiba.engine._apifields import Fields
from estiba.engine.mountconfig import Mount
from estiba.errors import InvalidArgument
from estiba.volumes.binds import MountRequest, mount_point, oci_mount, parse_bind, plan_mounts


def test_named_volume_bind() -> None:
    request = parse_bind("data:/var/lib/data:ro")
    assert (request.kind, request.source, request.target, request.read_only) == ("volume", "data", "/var/lib/data", True)


def test_host_bind_with_propagation() -> None:
    request = parse_bind("/srv/x:/x:rw,rslave")
    assert (request.kind, request.source, request.propagation, request.read_only) == ("bind", "/srv/x", "rslave", False)
    assert request.create_source
    assert oci_mount(request, "/srv/x") == {
        "destination": "/x", "type": "bind", "source": "/srv/x", "options": ["rbind", "rslave"],
    }


@pytest.mark.parametrize("spec", ["/x", "a:b:c:d", "data:relative", "/h:/c:bogus", "/h:/c:ro,rw", "/h:/c:nocopy",
                                  "v!:/c", "data:/c:shared", "/h:/"])
def test_bad_binds(spec: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_bind(spec)


def _api_mount(**fields: object) -> Mount:
    mount = Mount.from_api(Fields(fields, "Mounts[0]"))
    mount.validate("HostConfig.Mounts[0]")
    return mount


def test_precedence_and_anonymous_volumes() -> None:
    inherited = (MountRequest(kind="volume", target="/shared", source="abc", read_only=False), "ro")
    plan = plan_mounts(
        binds=["data:/data"],
        mounts=[_api_mount(Type="volume", Target="/cache", VolumeOptions={"NoCopy": True}),
                _api_mount(Type="tmpfs", Target="/tmp")],
        volumes=["/data", "/anon", "/shared"],
        inherited=[inherited],
    )
    by_target = {r.target: r for r in plan}
    assert set(by_target) == {"/data", "/anon", "/shared", "/cache"}
    assert by_target["/data"].source == "data"  # -v wins over the image's VOLUME
    assert by_target["/anon"].source == "" and by_target["/anon"].kind == "volume"
    assert by_target["/shared"].read_only and by_target["/shared"].source == "abc"
    assert by_target["/cache"].no_copy


def test_duplicate_mount_points_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="Duplicate mount point"):
        plan_mounts(binds=["a1:/x", "/h:/x"], mounts=[], volumes=[])


def test_inspect_mount_points() -> None:
    volume = mount_point(MountRequest(kind="volume", target="/d", source="v1"), "/var/v1/_data", "v1")
    assert volume["Type"] == "volume" and volume["Name"] == "v1" and volume["RW"]
    bind = mount_point(parse_bind("/h:/c:ro"), "/h")
    assert bind["Propagation"] == "rprivate" and not bind["RW"]


def test_requests_round_trip_as_json() -> None:
    request = parse_bind("/h:/c:ro,shared")
    assert MountRequest.from_json(request.to_json()) == request
