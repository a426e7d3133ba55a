"""`run`/`create` flags to the create body: table-driven, values as the docker CLI sends
them (the e2e suite compares whole bodies with the real docker CLI's)."""

from __future__ import annotations

import pytest

from estiba.cli.base import CommandParser, UsageError
from estiba.cli.commands import run
from estiba.cli.container_options import create_body, parse_env
from estiba.errors import InvalidArgument


def body_for(*argv: str, environ: dict[str, str] | None = None) -> dict:
    parser = CommandParser("run", "", "", short_help=run.SHORT_HELP)
    run.configure(parser)
    args = parser.parse_args(list(argv))
    return create_body(args, detach=args.detach)


def dig(body: dict, path: str):
    for key in path.split("."):
        body = body[key]
    return body


CASES = [
    (
        ["busybox"],
        {
            "Image": "busybox",
            "Cmd": None,
            "Entrypoint": None,
            "Env": None,
            "AttachStdout": True,
            "AttachStdin": False,
            "OpenStdin": False,
            "HostConfig.RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        },
    ),
    (["busybox", "sh", "-c", "echo -n hi"], {"Cmd": ["sh", "-c", "echo -n hi"]}),
    (["-d", "busybox"], {"AttachStdout": False, "AttachStderr": False}),
    (["-it", "busybox"], {"Tty": True, "OpenStdin": True, "StdinOnce": True, "AttachStdin": True}),
    (
        ["-dit", "busybox"],
        {"Tty": True, "OpenStdin": True, "StdinOnce": False, "AttachStdin": False},
    ),
    (["--rm", "busybox"], {"HostConfig.AutoRemove": True}),
    (["-e", "A=1", "-e", "B=", "busybox"], {"Env": ["A=1", "B="]}),
    (
        ["-w", "/srv", "-u", "1000:1000", "-h", "box", "busybox"],
        {"WorkingDir": "/srv", "User": "1000:1000", "Hostname": "box"},
    ),
    (["--entrypoint", "/bin/sh -c", "busybox"], {"Entrypoint": ["/bin/sh -c"]}),
    (["--entrypoint", "", "busybox"], {"Entrypoint": [""]}),
    (
        ["--restart", "on-failure:3", "busybox"],
        {"HostConfig.RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}},
    ),
    (
        ["--restart", "unless-stopped", "busybox"],
        {"HostConfig.RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0}},
    ),
    (
        ["-m", "64m", "--memory-swap", "-1", "busybox"],
        {"HostConfig.Memory": 64 << 20, "HostConfig.MemorySwap": -1},
    ),
    (
        ["--cpus", "0.5", "--cpu-shares", "512", "--pids-limit", "50", "busybox"],
        {
            "HostConfig.NanoCpus": 500_000_000,
            "HostConfig.CpuShares": 512,
            "HostConfig.PidsLimit": 50,
        },
    ),
    (
        ["--cap-add", "net_admin", "--cap-add", "CAP_SYS_TIME", "--cap-drop", "all", "busybox"],
        {"HostConfig.CapAdd": ["CAP_NET_ADMIN", "CAP_SYS_TIME"], "HostConfig.CapDrop": ["ALL"]},
    ),
    (
        ["--privileged", "--read-only", "--init", "busybox"],
        {"HostConfig.Privileged": True, "HostConfig.ReadonlyRootfs": True, "HostConfig.Init": True},
    ),
    (
        ["--tmpfs", "/run:rw,size=64m", "--tmpfs", "/x", "busybox"],
        {"HostConfig.Tmpfs": {"/run": "rw,size=64m", "/x": ""}},
    ),
    (
        ["--ulimit", "nofile=1024:2048", "--ulimit", "nproc=100", "busybox"],
        {
            "HostConfig.Ulimits": [
                {"Name": "nofile", "Hard": 2048, "Soft": 1024},
                {"Name": "nproc", "Hard": 100, "Soft": 100},
            ]
        },
    ),
    (["-l", "a=b", "--label", "c", "busybox"], {"Labels": {"a": "b", "c": ""}}),
    (
        ["--security-opt", "no-new-privileges", "--security-opt", "seccomp=unconfined", "busybox"],
        {"HostConfig.SecurityOpt": ["no-new-privileges", "seccomp=unconfined"]},
    ),
    (
        ["--runtime", "runc", "--stop-signal", "SIGINT", "--stop-timeout", "5", "busybox"],
        {"HostConfig.Runtime": "runc", "StopSignal": "SIGINT", "StopTimeout": 5},
    ),
    (
        ["--log-opt", "max-size=1m", "busybox"],
        {"HostConfig.LogConfig": {"Type": "", "Config": {"max-size": "1m"}}},
    ),
]


@pytest.mark.parametrize(("argv", "expected"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_flags_become_the_create_body(argv, expected):
    body = body_for(*argv)
    assert {path: dig(body, path) for path in expected} == expected


def test_unset_optional_fields_are_left_out_as_docker_does():
    body = body_for("busybox")
    assert "StopSignal" not in body and "StopTimeout" not in body
    assert not {"Init", "Runtime", "Tmpfs"} & set(body["HostConfig"])


@pytest.mark.parametrize(
    "argv",
    [
        ["--rm", "--restart", "always", "busybox"],
        ["--restart", "sometimes", "busybox"],
        ["--restart", "always:3", "busybox"],
        ["-m", "lots", "busybox"],
        ["--ulimit", "nofile=x", "busybox"],
    ],
)
def test_bad_values_are_invalid_arguments(argv):
    with pytest.raises(InvalidArgument):
        body_for(*argv)


def test_missing_image_is_a_usage_error():
    with pytest.raises(UsageError):
        body_for()


def test_env_files_first_then_flags_and_bare_names_from_our_environment(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nFROM_FILE=1\n\nHOME\nABSENT\n")
    result = parse_env(["A=1", "USER"], [str(env_file)], {"HOME": "/root", "USER": "ana"})
    assert result == ["FROM_FILE=1", "HOME=/root", "A=1", "USER=ana"]


@pytest.mark.parametrize(
    ("argv", "cmd"),
    [
        (["busybox", "--help"], ["--help"]),
        (["busybox", "-d"], ["-d"]),
        (["-e", "A=1", "busybox", "env", "-u", "X"], ["env", "-u", "X"]),
        (["--name", "x", "busybox", "ls", "-la"], ["ls", "-la"]),
    ],
)
def test_everything_after_the_image_is_the_command(argv, cmd):
    body = body_for(*argv)
    assert (body["Image"], body["Cmd"], body["AttachStdout"]) == ("busybox", cmd, True)
