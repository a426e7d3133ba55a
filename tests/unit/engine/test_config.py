"""The create body reads into typed config as dockerd reads it: the real docker CLI's body,
Go's JSON rules, dockerd's checks with dockerd's messages (each checked against dockerd
20.10.24), the image merge and the create-time defaults."""

from __future__ import annotations

import json

import pytest

from estiba.engine.config import ContainerConfig, ImageConfig, parse_signal
from estiba.engine.hostconfig import HostConfig, Mount, PortBinding, RestartPolicy, Ulimit
from estiba.engine.security import SecurityOptions
from estiba.engine.tmpfs import merge_tmpfs_options, mount_api_tmpfs_data
from estiba.errors import InvalidArgument

# What docker CLI 28 sends for: docker create -t -i -e FOO=bar -w /srv -u estiba -h myhost
#   --restart on-failure:3 -m 64m --memory-swap 128m --cpus 1.5 --cpu-shares 512
#   --pids-limit 50 --cap-add net_admin --cap-drop mknod --read-only --init
#   --tmpfs /run:size=10m --ulimit nofile=1024:2048 -l a=b --security-opt no-new-privileges
#   --stop-signal SIGINT --stop-timeout 5 --log-opt max-size=1m -p 8080:80 --device /dev/fuse
#   --shm-size 128m --sysctl net.ipv4.ip_forward=1 --group-add extra --dns 1.1.1.1
#   --add-host h:1.2.3.4 -v /srv:/data:ro --mount type=tmpfs,target=/cache,tmpfs-size=1048576
#   busybox sh -c 'echo hi'
DOCKER_CLI_BODY = json.loads("""{
 "Hostname": "myhost", "Domainname": "", "User": "estiba", "AttachStdin": true,
 "AttachStdout": true, "AttachStderr": true, "ExposedPorts": {"80/tcp": {}}, "Tty": true,
 "OpenStdin": true, "StdinOnce": true, "Env": ["FOO=bar"], "Cmd": ["sh", "-c", "echo hi"],
 "Image": "busybox", "Volumes": {}, "WorkingDir": "/srv", "Entrypoint": null, "OnBuild": null,
 "Labels": {"a": "b"}, "StopSignal": "SIGINT", "StopTimeout": 5,
 "HostConfig": {
  "Binds": ["/srv:/data:ro"], "ContainerIDFile": "",
  "LogConfig": {"Type": "", "Config": {"max-size": "1m"}}, "NetworkMode": "default",
  "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
  "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}, "AutoRemove": false,
  "VolumeDriver": "", "VolumesFrom": null, "ConsoleSize": [0, 0], "CapAdd": ["CAP_NET_ADMIN"],
  "CapDrop": ["CAP_MKNOD"], "CgroupnsMode": "", "Dns": ["1.1.1.1"], "DnsOptions": [],
  "DnsSearch": [], "ExtraHosts": ["h:1.2.3.4"], "GroupAdd": ["extra"], "IpcMode": "",
  "Cgroup": "", "Links": null, "OomScoreAdj": 0, "PidMode": "", "Privileged": false,
  "PublishAllPorts": false, "ReadonlyRootfs": true, "SecurityOpt": ["no-new-privileges"],
  "Tmpfs": {"/run": "size=10m"}, "UTSMode": "", "UsernsMode": "", "ShmSize": 134217728,
  "Sysctls": {"net.ipv4.ip_forward": "1"}, "Isolation": "", "CpuShares": 512,
  "Memory": 67108864, "NanoCpus": 1500000000, "CgroupParent": "", "BlkioWeight": 0,
  "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
  "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": 0, "CpuQuota": 0,
  "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "",
  "Devices": [{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rwm"}],
  "DeviceCgroupRules": null, "DeviceRequests": null, "MemoryReservation": 0,
  "MemorySwap": 134217728, "MemorySwappiness": -1, "OomKillDisable": false, "PidsLimit": 50,
  "Ulimits": [{"Name": "nofile", "Hard": 2048, "Soft": 1024}], "CpuCount": 0, "CpuPercent": 0,
  "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
  "Mounts": [{"Type": "tmpfs", "Target": "/cache", "TmpfsOptions": {"SizeBytes": 1048576}}],
  "MaskedPaths": null, "ReadonlyPaths": null, "Init": true
 },
 "NetworkingConfig": {"EndpointsConfig": {"default": {"IPAMConfig": null, "Aliases": null}}}
}""")


def test_reads_the_docker_cli_body() -> None:
    config = ContainerConfig.from_api(DOCKER_CLI_BODY)
    assert (config.image, config.hostname, config.user, config.working_dir) == (
        "busybox",
        "myhost",
        "estiba",
        "/srv",
    )
    assert (config.tty, config.open_stdin, config.stdin_once, config.attach_stdin) == (True, True, True, True)
    assert config.cmd == ("sh", "-c", "echo hi") and config.entrypoint is None
    assert config.env == ("FOO=bar",) and config.labels == {"a": "b"}
    assert (config.stop_signal, config.stop_timeout, config.exposed_ports) == ("SIGINT", 5, ("80/tcp",))
    host = config.host_config
    assert host.restart_policy == RestartPolicy("on-failure", 3)
    assert (host.memory, host.memory_swap, host.nano_cpus, host.cpu_shares) == (
        64 << 20,
        128 << 20,
        1_500_000_000,
        512,
    )
    assert (host.pids_limit, host.init, host.oom_kill_disable, host.memory_swappiness) == (
        50,
        True,
        False,
        -1,
    )
    assert host.cap_add == ("CAP_NET_ADMIN",) and host.cap_drop == ("CAP_MKNOD",)
    assert host.ulimits == (Ulimit("nofile", 1024, 2048),)
    assert host.tmpfs == {"/run": "size=10m"} and host.shm_size == 128 << 20
    assert host.mounts == (Mount(type="tmpfs", target="/cache", tmpfs_size=1048576),)
    assert host.port_bindings == {"80/tcp": (PortBinding("", "8080"),)}
    assert host.devices[0].path_in_container == "/dev/fuse"
    assert host.log_config.config == {"max-size": "1m"} and host.binds == ("/srv:/data:ro",)
    assert host.security() == SecurityOptions(no_new_privileges=True)
    assert host.masked_paths is None and host.readonly_paths is None


def test_keys_match_case_insensitively_as_in_go() -> None:
    config = ContainerConfig.from_api({"image": "x", "CMD": ["true"], "hostconfig": {"memory": 8 << 20}})
    assert (config.image, config.cmd, config.host_config.memory) == ("x", ("true",), 8 << 20)


def test_null_is_not_given_and_strslice_takes_a_string() -> None:
    config = ContainerConfig.from_api({"Cmd": "echo hi", "Entrypoint": "", "Env": None, "HostConfig": None})
    assert config.cmd == ("echo hi",) and config.entrypoint == ("",) and config.env == ()
    assert config.host_config == HostConfig()
    assert ContainerConfig.from_api({"Entrypoint": []}).entrypoint == ()


def test_pids_limit_zero_or_negative_is_no_limit() -> None:
    for value, stored in ((0, None), (-1, None), (-5, None), (None, None), (7, 7)):
        assert HostConfig.from_api({"PidsLimit": value}).pids_limit == stored


TYPE_ERRORS = [
    ([], "Config: must be an object"),
    ({"HostConfig": []}, "HostConfig: must be an object"),
    ({"Image": 5}, "Config.Image: must be a string"),
    ({"Tty": "yes"}, "Config.Tty: must be a boolean"),
    ({"Env": "A=1"}, "Config.Env: must be an array of strings"),
    ({"Cmd": [1]}, "Config.Cmd: must be a string or an array of strings"),
    ({"Labels": {"a": 1}}, "Config.Labels.a: must be a string"),
    ({"ExposedPorts": {"80/tcp": 1}}, "Config.ExposedPorts.80/tcp: must be an empty object"),
    ({"HostConfig": {"Memory": "64m"}}, "HostConfig.Memory: must be an integer"),
    ({"HostConfig": {"Memory": 1.5e7}}, "HostConfig.Memory: must be an integer"),
    ({"HostConfig": {"Privileged": 1}}, "HostConfig.Privileged: must be a boolean"),
    ({"HostConfig": {"OomScoreAdj": 1 << 40}}, "HostConfig.OomScoreAdj: 1099511627776 is out of range"),
    (
        {"HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": "x"}]}},
        "HostConfig.Ulimits[0].Soft: must be an integer",
    ),
    (
        {"HostConfig": {"Ulimits": [{"Name": "bogus"}]}},
        "HostConfig.Ulimits[0].Name: invalid ulimit type: bogus",
    ),
    ({"HostConfig": {"RestartPolicy": "always"}}, "HostConfig.RestartPolicy: must be an object"),
    ({"HostConfig": {"ConsoleSize": [24]}}, "HostConfig.ConsoleSize: must be [height, width]"),
    (
        {"HostConfig": {"Devices": [{"PathInContainer": "/dev/x"}]}},
        "HostConfig.Devices[0].PathOnHost: required",
    ),
    (
        {"HostConfig": {"Devices": [{"PathOnHost": "/dev/null", "CgroupPermissions": "rwx"}]}},
        "HostConfig.Devices[0].CgroupPermissions: invalid device mode: rwx",
    ),
    ({"Hostname": "h" * 65}, "Config.Hostname: longer than 64 bytes"),
]


@pytest.mark.parametrize(("body", "message"), TYPE_ERRORS)
def test_type_errors_name_the_field(body: object, message: str) -> None:
    with pytest.raises(InvalidArgument) as failure:
        ContainerConfig.from_api(body)
    assert str(failure.value).startswith(message)


# Bodies dockerd 20.10 refuses, and what it says (create, or start for the last ones).
DOCKERD_ERRORS = [
    ({"WorkingDir": "rel"}, "the working directory 'rel' is invalid, it needs to be an absolute path"),
    ({"StopSignal": "SIGFOO"}, "Invalid signal: SIGFOO"),
    ({"Env": ["=foo"]}, "invalid environment variable: =foo"),
    ({"Healthcheck": {"Interval": 5}}, "Interval in Healthcheck cannot be less than 1ms"),
    (
        {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}},
        "maximum retry count cannot be used with restart policy 'always'",
    ),
    ({"RestartPolicy": {"Name": "sometimes"}}, "invalid restart policy 'sometimes'"),
    (
        {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": -1}},
        "maximum retry count cannot be negative",
    ),
    (
        {"AutoRemove": True, "RestartPolicy": {"Name": "always"}},
        "can't create 'AutoRemove' container with restart policy",
    ),
    ({"CapAdd": ["foo"]}, 'invalid CapAdd: unknown capability: "CAP_FOO"'),
    ({"CapDrop": ["CAP_NOPE"]}, 'invalid CapDrop: unknown capability: "CAP_NOPE"'),
    ({"Memory": 1 << 20}, "Minimum memory limit allowed is 6MB"),
    ({"Memory": -5}, "Minimum memory limit allowed is 6MB"),
    (
        {"Memory": 10_000_000, "MemorySwap": 5_000_000},
        "Minimum memoryswap limit should be larger than memory limit, see usage",
    ),
    (
        {"MemorySwap": 50_000_000},
        "You should always set the Memory limit when using Memoryswap limit, see usage",
    ),
    ({"MemorySwappiness": 101}, "Invalid value: 101, valid memory swappiness range is 0-100"),
    ({"MemoryReservation": 1000}, "Minimum memory reservation allowed is 6MB"),
    (
        {"Memory": 8 << 20, "MemoryReservation": 16 << 20},
        "Minimum memory limit can not be less than memory reservation limit, see usage",
    ),
    (
        {"NanoCpus": 10**9, "CpuPeriod": 100000},
        "Conflicting options: Nano CPUs and CPU Period cannot both be set",
    ),
    (
        {"NanoCpus": 10**9, "CpuQuota": 100000},
        "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
    ),
    (
        {"CpuPeriod": 500},
        "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
    ),
    ({"CpuQuota": 500}, "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
    ({"BlkioWeight": 5}, "Range of blkio weight is from 10 to 1000"),
    ({"CpusetCpus": "abc"}, "Invalid value abc for cpuset cpus: invalid format: abc"),
    ({"CpusetMems": "3-1"}, "Invalid value 3-1 for cpuset mems: invalid format: 3-1"),
    ({"ShmSize": -1}, "SHM size can not be less than 0"),
    ({"OomScoreAdj": 1001}, "Invalid value 1001, range for oom score adj is [-1000, 1000]"),
    ({"IpcMode": "weird"}, "invalid IPC mode: weird"),
    ({"PidMode": "container:"}, "invalid PID mode: container:"),
    ({"UTSMode": "private"}, "invalid UTS mode: private"),
    ({"CgroupnsMode": "shared"}, "invalid cgroup namespace mode: shared"),
    ({"Tmpfs": {"x": ""}}, "invalid mount path: 'x' mount path must be absolute"),
    ({"Tmpfs": {"/": ""}}, "invalid specification: destination can't be '/'"),
    ({"SecurityOpt": ["foo"]}, 'invalid --security-opt 1: "foo"'),
    ({"SecurityOpt": ["no-new-privileges=maybe"]}, 'invalid --security-opt 2: "no-new-privileges=maybe"'),
    ({"SecurityOpt": ["selinux=x"]}, 'invalid --security-opt 2: "selinux=x"'),
    (
        {"Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 5}]},
        "ulimit soft limit must be less than or equal to hard limit: 10 > 5",
    ),
    (
        {"Mounts": [{"Type": "tmpfs", "Target": "/x", "Source": "y"}]},
        'invalid mount config for type "tmpfs": field Source must not be specified',
    ),
    ({"Tmpfs": {"/x": "foo"}}, 'invalid tmpfs option ["foo"]'),
    ({"SecurityOpt": ["seccomp={bad"]}, "Decoding seccomp profile failed:"),
    ({"DeviceCgroupRules": ["c 1:x rwm"]}, "invalid device cgroup rule format: 'c 1:x rwm'"),
]


@pytest.mark.parametrize(("fields", "message"), DOCKERD_ERRORS)
def test_refuses_what_dockerd_refuses_with_its_message(fields: dict, message: str) -> None:
    config_keys = {"WorkingDir", "StopSignal", "Env", "Healthcheck"}
    body = {k: v for k, v in fields.items() if k in config_keys}
    body["HostConfig"] = {k: v for k, v in fields.items() if k not in config_keys}
    with pytest.raises(InvalidArgument) as failure:
        ContainerConfig.from_api(body)
    assert str(failure.value).startswith(message)


ACCEPTED = [
    {"Memory": 6 * 1024 * 1024, "MemorySwap": -1},
    {"MemorySwappiness": -1},
    {"CpuQuota": -1, "NanoCpus": 10**9},
    {"SecurityOpt": ["seccomp=unconfined", "apparmor=unconfined", "label=disable", "no-new-privileges:true"]},
    {"Tmpfs": {"/run": "rw,exec,size=1g,mode=1777,uid=1,gid=2,nr_inodes=5,defaults"}},
    {"DeviceCgroupRules": ["c 1:3 mr", "a *:* rwm", "b 8:* r"]},
    {"NetworkMode": "container:web", "IpcMode": "container:db", "PidMode": "host"},
    {"Ulimits": [{"Name": "NOFILE", "Soft": -1, "Hard": -1}]},
]


@pytest.mark.parametrize("fields", ACCEPTED)
def test_accepts_what_dockerd_accepts(fields: dict) -> None:
    HostConfig.from_api(fields)


IMAGE = ImageConfig.from_oci(
    {
        "User": "daemon",
        "Env": ["PATH=/usr/bin:/bin", "LANG=C"],
        "Entrypoint": ["/entry"],
        "Cmd": ["serve"],
        "WorkingDir": "/app",
        "Labels": {"from": "image", "shared": "image"},
        "StopSignal": "SIGQUIT",
        "ExposedPorts": {"80/tcp": {}},
        "Volumes": {"/data": {}},
    }
)

# (Entrypoint, Cmd) given -> (Entrypoint, Cmd) run, as dockerd merges them.
COMMANDS = [
    (None, None, ("/entry",), ("serve",)),
    (None, ["sh"], ("/entry",), ("sh",)),
    (["/other"], None, ("/other",), None),  # a new entrypoint drops the image's Cmd
    (["/other"], ["x"], ("/other",), ("x",)),
    ([""], ["echo", "hi"], (), ("echo", "hi")),  # --entrypoint "" resets it
    ([], None, (), ("serve",)),  # [] stops the image's entrypoint, not its Cmd
]


@pytest.mark.parametrize(("entrypoint", "cmd", "run_entrypoint", "run_cmd"), COMMANDS)
def test_merges_commands_as_dockerd(entrypoint, cmd, run_entrypoint, run_cmd) -> None:
    merged = ContainerConfig.from_api({"Entrypoint": entrypoint, "Cmd": cmd}).merged_with(IMAGE)
    assert (merged.entrypoint, merged.cmd) == (run_entrypoint, run_cmd)
    assert merged.merged_with(IMAGE) == merged


def test_no_command_at_all_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="^No command specified$"):
        ContainerConfig.from_api({"Entrypoint": [""]}).merged_with(IMAGE)
    with pytest.raises(InvalidArgument, match="^No command specified$"):
        ContainerConfig.from_api({}).merged_with(ImageConfig())


def test_merges_the_rest_as_dockerd() -> None:
    own = ContainerConfig.from_api(
        {"Env": ["LANG=gl_ES.UTF-8", "X=1"], "Labels": {"shared": "mine"}, "ExposedPorts": {"53/udp": {}}}
    )
    merged = own.merged_with(IMAGE)
    assert merged.env == ("LANG=gl_ES.UTF-8", "X=1", "PATH=/usr/bin:/bin")
    assert (merged.user, merged.working_dir, merged.stop_signal) == ("daemon", "/app", "SIGQUIT")
    assert merged.labels == {"from": "image", "shared": "mine"}
    assert merged.exposed_ports == ("53/udp", "80/tcp") and merged.volumes == ("/data",)
    mine = ContainerConfig.from_api({"User": "1000", "WorkingDir": "/w", "StopSignal": "9"}).merged_with(
        IMAGE
    )
    assert (mine.user, mine.working_dir, mine.stop_signal, mine.env) == ("1000", "/w", "9", IMAGE.env)


def test_daemon_defaults_as_dockerd_stores_them() -> None:
    host = HostConfig.from_api({"Memory": 64 << 20}).with_daemon_defaults()
    assert (host.memory_swap, host.shm_size, host.ipc_mode, host.cgroupns_mode) == (
        128 << 20,
        64 << 20,
        "private",
        "host",
    )
    assert host.oom_kill_disable is False
    assert host.with_daemon_defaults() == host
    assert HostConfig().with_daemon_defaults(cgroup_v2=True).cgroupns_mode == "private"
    privileged = HostConfig(privileged=True)
    assert privileged.with_daemon_defaults(cgroupns_mode="private").cgroupns_mode == "host"
    assert privileged.with_daemon_defaults(cgroup_v2=True).cgroupns_mode == "private"
    unlimited = HostConfig(memory=64 << 20, memory_swap=-1, shm_size=1 << 20).with_daemon_defaults()
    assert (unlimited.memory_swap, unlimited.shm_size) == (-1, 1 << 20)


def test_security_options() -> None:
    assert SecurityOptions.parse(["no-new-privileges=false", "no-new-privileges"]).no_new_privileges
    assert not SecurityOptions.parse(["no-new-privileges", "no-new-privileges=0"]).no_new_privileges
    options = SecurityOptions.parse(["seccomp:unconfined", "apparmor=docker-default", "label=level:s0"])
    assert (
        options.seccomp_unconfined
        and options.apparmor == "docker-default"
        and options.labels == ("level:s0",)
    )
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}
    custom = SecurityOptions.parse([f"seccomp={json.dumps(profile)}"])
    assert custom.custom_seccomp_profile() == profile
    assert SecurityOptions.parse(["seccomp=builtin"]).custom_seccomp_profile() is None


TMPFS = [
    ([], []),
    (
        ["noexec", "nosuid", "nodev", "rprivate", "rw", "size=10m"],
        ["noexec", "nosuid", "nodev", "rprivate", "rw", "size=10m"],
    ),
    (
        ["noexec", "nosuid", "nodev", "rprivate", "exec", "size=1m", "size=2m"],
        ["nosuid", "nodev", "rprivate", "exec", "size=2m"],
    ),
    (["rprivate", "shared", "defaults", "ro", "rw"], ["shared", "rw"]),
    (["mode=1777", "uid=1000", "mode=700"], ["uid=1000", "mode=700"]),
]


@pytest.mark.parametrize(("options", "merged"), TMPFS)
def test_tmpfs_options_merge_as_moby(options: list, merged: list) -> None:
    assert merge_tmpfs_options(options) == merged


def test_tmpfs_options_of_the_mounts_api() -> None:
    assert mount_api_tmpfs_data(False, 0, 0) == ""
    assert mount_api_tmpfs_data(True, 0o1777, 64 << 20) == "ro,mode=1777,size=64m"
    assert mount_api_tmpfs_data(False, 0o700, 3 << 30) == "mode=700,size=3g"
    assert mount_api_tmpfs_data(False, 0, 1000) == "size=1000"
    with pytest.raises(InvalidArgument, match=r'invalid tmpfs option \["nr_things" "3"\]'):
        merge_tmpfs_options(["nr_things=3"])


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("SIGTERM", 15),
        ("term", 15),
        ("KILL", 9),
        ("9", 9),
        ("SIGRTMIN+3", 37),
        ("RTMAX-1", 63),
        ("SIGIOT", 6),
        ("sigwinch", 28),
    ],
)
def test_signals(raw: str, number: int) -> None:
    assert parse_signal(raw) == number


@pytest.mark.parametrize("raw", ["", "0", "65", "SIGFOO", "RTMIN+16", " 9", "9 "])
def test_bad_signals(raw: str) -> None:
    with pytest.raises(InvalidArgument, match="^Invalid signal: "):
        parse_signal(raw)
