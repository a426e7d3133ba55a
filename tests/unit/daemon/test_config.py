"""Daemon options: defaults, daemon.json, flags over the file, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from estiba.daemon.config import DaemonConfig, load_config, socket_path
from estiba.daemon.main import parse_args
from estiba.errors import InvalidArgument


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "daemon.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_defaults_when_the_file_is_absent(tmp_path: Path) -> None:
    config = load_config(tmp_path / "missing.json")
    assert config == DaemonConfig()
    assert config.data_root == Path("/var/lib/estiba")
    assert config.exec_root == Path("/run/estiba")
    assert config.socket == Path("/run/estiba/estiba.sock")


def test_file_values_are_read_with_dockerd_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "data-root": "/srv/estiba",
            "exec-root": "/run/e2",
            "hosts": ["unix:///run/e2/e.sock"],
            "group": "docker",
            "default-runtime": "runc",
            "log-level": "debug",
        },
    )
    config = load_config(path)
    assert config.data_root == Path("/srv/estiba")
    assert config.exec_root == Path("/run/e2")
    assert config.socket == Path("/run/e2/e.sock")
    assert (config.group, config.default_runtime, config.log_level) == ("docker", "runc", "debug")


def test_network_settings_are_read_with_dockerd_names(tmp_path: Path) -> None:
    path = write(tmp_path, {"default-address-pools": [{"base": "10.10.0.0/16", "size": 24}],
                            "bip": "10.99.0.1/24", "bridge": "est0", "nftables-table": "est-t"})
    config = load_config(path)
    assert config.nftables_table == "est-t"
    assert config.default_address_pools == (("10.10.0.0/16", 24),)
    assert (config.bip, config.bridge) == ("10.99.0.1/24", "est0")
    flagged = parse_args(["--bip", "10.98.0.1/24", "-b", "est1"]).overrides
    assert load_config(path, flagged).bip == "10.98.0.1/24"
    assert load_config(path, flagged).bridge == "est1"


def test_mtu_is_a_number_from_the_file_or_the_flag_and_65535_by_default(tmp_path: Path) -> None:
    assert DaemonConfig().mtu == 65535
    path = write(tmp_path, {"mtu": 1500})
    assert load_config(path).mtu == 1500
    assert load_config(path, parse_args(["--mtu", "9000"]).overrides).mtu == 9000
    assert parse_args([]).overrides["mtu"] is None


@pytest.mark.parametrize(
    ("value", "shown"), [('"1500"', '"1500"'), ("0", "0"), ("70000", "70000"), ("true", "true"),
                         ("1500.5", "1500.5"), ("null", "null")],
)
def test_a_bad_mtu_is_one_line_with_the_option_the_value_and_the_range(
    tmp_path: Path, value: str, shown: str
) -> None:
    path = write(tmp_path, f'{{"mtu": {value}}}')
    with pytest.raises(InvalidArgument) as caught:
        load_config(path)
    assert str(caught.value) == f"invalid MTU {shown} in option mtu of {path}: give a number from 68 to 65535"
    with pytest.raises(InvalidArgument, match="^invalid MTU 67 in option mtu of the command line: "):
        load_config(None, {"mtu": 67})


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"data-root": "/srv/a", "log-level": "debug"})
    config = load_config(path, {"data_root": "/srv/b", "log_level": None})
    assert config.data_root == Path("/srv/b")
    assert config.log_level == "debug"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "invalid JSON"),
        ("[]", "expected a JSON object"),
        ('{"data-rot": "/x"}', "unknown option in"),
        ('{"log-level": "loud"}', "invalid log-level"),
        ('{"data-root": "relative"}', "absolute path"),
        ('{"hosts": ["tcp://0.0.0.0:2375"]}', "unsupported host"),
        ('{"group": 5}', "invalid group"),
        ('{"default-address-pools": []}', "invalid default-address-pools"),
        ('{"default-address-pools": [{"base": "10.0.0.0/16"}]}', "invalid default-address-pools entry"),
        ('{"default-address-pools": [{"base": "10.0.0.0/16", "size": 8}]}', "invalid address pool"),
        ('{"default-address-pools": [{"base": "nonsense", "size": 24}]}', "invalid address pool base"),
        ('{"bip": "172.30.0.0/24"}', "invalid bip"),
        ('{"bip": "300.1.1.1/24"}', "invalid bip"),
        ('{"bridge": "a-name-far-too-long-for-linux"}', "invalid bridge"),
        ('{"nftables-table": "Bad Name"}', "invalid nftables-table"),
    ],
)
def test_bad_files_are_one_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        load_config(write(tmp_path, text))
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="not found"):
        load_config(tmp_path / "nope.json", required=True)


def test_socket_path_accepts_unix_urls_and_paths() -> None:
    assert socket_path("unix:///tmp/x.sock") == Path("/tmp/x.sock")
    assert socket_path("/tmp/y.sock") == Path("/tmp/y.sock")
    with pytest.raises(InvalidArgument):
        socket_path("unix://relative.sock")


def test_parse_args_maps_flags_to_fields() -> None:
    invocation = parse_args(["--data-root", "/d", "-H", "unix:///s.sock", "--config-file", "/c"])
    assert invocation.overrides["data_root"] == "/d"
    assert invocation.overrides["host"] == "unix:///s.sock"
    assert invocation.overrides["exec_root"] is None
    assert invocation.config_file == Path("/c")
    assert invocation.config_file_given
    assert not parse_args([]).config_file_given
