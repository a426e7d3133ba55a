"""The pure parts of cp and commit: dockerd's archive path rules and --change."""

from __future__ import annotations

import pytest

from estiba.daemon.container_files import apply_changes, archive_name, committed_config, split_archive_path
from estiba.errors import InvalidArgument


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/etc/passwd", ("/etc/passwd", "/etc", "passwd")),
        ("etc/passwd", ("/etc/passwd", "/etc", "passwd")),
        ("/etc/", ("/etc/", "/etc", "")),
        ("/etc/.", ("/etc/.", "/etc", ".")),
        ("/etc/../var//log", ("/var/log", "/var", "log")),
        ("/", ("/", "/", "")),
        ("/.", ("/.", "/", ".")),
        ("../../etc", ("/etc", "/", "etc")),
    ],
)
def test_split_archive_path(path: str, expected: tuple[str, str, str]) -> None:
    assert split_archive_path(path) == expected


@pytest.mark.parametrize(("path", "name"), [("/etc/passwd", "passwd"), ("/etc/", "etc"), ("/etc/.", "."), ("/", "/")])
def test_archive_name(path: str, name: str) -> None:
    assert archive_name(path) == name


def test_changes_cmd_entrypoint_env_expose_label_user_workdir_volume() -> None:
    config = apply_changes(
        {"Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"]},
        [
            'CMD ["cat", "/x"]', "ENTRYPOINT /init", "ENV A=2 B=three", "ENV C some words",
            "EXPOSE 80 53/udp", 'LABEL version="1.0" team=core', "USER nobody", "WORKDIR /srv",
            "WORKDIR app", 'VOLUME ["/data"]', "VOLUME /logs /cache", "STOPSIGNAL SIGINT",
        ],
    )
    assert config["Cmd"] is None  # a shell-form ENTRYPOINT drops CMD, as in a Dockerfile
    assert config["Entrypoint"] == ["/bin/sh", "-c", "/init"]
    assert config["Env"] == ["PATH=/bin", "A=2", "B=three", "C=some words"]
    assert config["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert config["Labels"] == {"version": "1.0", "team": "core"}
    assert (config["User"], config["WorkingDir"], config["StopSignal"]) == ("nobody", "/srv/app", "SIGINT")
    assert set(config["Volumes"]) == {"/data", "/logs", "/cache"}


def test_shell_form_cmd() -> None:
    assert apply_changes({}, ["CMD echo hi"])["Cmd"] == ["/bin/sh", "-c", "echo hi"]


@pytest.mark.parametrize("change", ["FROM busybox", "RUN true", "ENV", "LABEL novalue"])
def test_bad_changes(change: str) -> None:
    with pytest.raises(InvalidArgument):
        apply_changes({}, [change])


def test_committed_config_keeps_run_settings_only() -> None:
    container = {"Hostname": "abc", "AttachStdout": True, "Cmd": ["sh"], "Env": ["A=1"], "Image": "busybox",
                 "Labels": {}, "WorkingDir": ""}
    assert committed_config(container, ("ENV B=2",)) == {"Cmd": ["sh"], "Env": ["A=1", "B=2"]}
