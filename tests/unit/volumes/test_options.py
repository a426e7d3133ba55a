"""The pure rules of volumes: names, the local driver's options and the filters."""

from __future__ import annotations

import pytest

from estiba.errors import InvalidArgument
from estiba.volumes.base import Volume
from estiba.volumes.options import LocalOptions, VolumeFilters, validate_volume_name


@pytest.mark.parametrize("name", ["ab", "data_1", "my.vol-2", "0x"])
def test_valid_names(name: str) -> None:
    assert validate_volume_name(name) == name


@pytest.mark.parametrize("name", ["a", "-x", "with/slash", "a b", "", ".hidden"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidArgument):
        validate_volume_name(name)


def test_plain_directory_needs_no_mount() -> None:
    assert not LocalOptions.parse({}).needs_mount


def test_tmpfs_options_become_a_tmpfs_mount() -> None:
    options = LocalOptions.parse({"type": "tmpfs", "device": "tmpfs", "o": "size=1m,uid=1000"})
    assert options.needs_mount
    assert options.mount() == ("tmpfs", "tmpfs", ("size=1m", "uid=1000"))


def test_bind_style_options_become_a_bind_mount() -> None:
    options = LocalOptions.parse({"type": "none", "device": "/srv/data", "o": "bind"})
    assert options.mount() == ("bind", "/srv/data", ("bind",))


def test_nfs_options_keep_their_data() -> None:
    options = LocalOptions.parse({"type": "nfs", "device": ":/export", "o": "addr=10.0.0.1,rw"})
    assert options.mount() == ("nfs", ":/export", ("addr=10.0.0.1", "rw"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": "red"}, 'invalid option: "colour"'),
        ({"type": "tmpfs"}, 'missing required option: "device"'),
        ({"device": "/x"}, 'missing required option: "type"'),
        ({"o": "size=1m"}, 'missing required option: "device"'),
    ],
)
def test_options_refused_as_dockerd_does(options: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        LocalOptions.parse(options)


def _volume(name: str, **labels: str) -> Volume:
    return Volume(name=name, driver="local", mountpoint=f"/v/{name}", created="", labels=labels)


def test_filters_dangling_name_label() -> None:
    web, db = _volume("web-data", app="web"), _volume("db-data", app="db", tier="back")
    dangling = VolumeFilters.from_api({"dangling": ("true",)})
    assert dangling.matches(web, in_use=False) and not dangling.matches(web, in_use=True)
    assert VolumeFilters.from_api({"dangling": ("false",)}).matches(web, in_use=True)
    assert VolumeFilters.from_api({"name": ("web",)}).matches(web, in_use=False)
    assert not VolumeFilters.from_api({"name": ("web",)}).matches(db, in_use=False)
    assert VolumeFilters.from_api({"label": ("tier",)}).matches(db, in_use=False)
    assert not VolumeFilters.from_api({"label": ("app=db",)}).matches(web, in_use=False)
    assert not VolumeFilters.from_api({"label!": ("app=db",)}).matches(db, in_use=False)
    assert VolumeFilters.from_api({"all": ("true",)}).all


def test_a_bad_boolean_filter_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        VolumeFilters.from_api({"dangling": ("maybe",)})
