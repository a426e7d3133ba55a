"""estiba.compose.specs: each service key as the Engine API body docker compose v2 sends
(pkg/compose/create.go getCreateConfigs), the expected bodies written from compose's source."""

from __future__ import annotations

import copy
import json

import pytest

from estiba.compose import specs
from estiba.compose.model import Project
from estiba.errors import InvalidArgument, NotFound

HASH_LEN = 64


def project(services: dict, **top) -> Project:
    config = {"name": "demo", "services": copy.deepcopy(services)}
    for service in config["services"].values():
        if "network_mode" not in service:
            service.setdefault("networks", {"default": None})
    config["networks"] = top.pop("networks", {"default": {"name": "demo_default"}})
    config.update(top)
    return Project("demo", "/srv/demo", ["/srv/demo/compose.yaml"], config)


def body(service: dict, **top) -> dict:
    return specs.container_body(project({"web": service}, **top), "web", 1)[1]


def host(service: dict, **top) -> dict:
    return body(service, **top)["HostConfig"]


# --- names, image, labels -----------------------------------------------------------------


def test_name_image_and_compose_labels():
    name, created = specs.container_body(project({"web": {"image": "busybox"}}), "web", 2)
    assert name == "demo-web-2"
    assert created["Image"] == "busybox"
    labels = created["Labels"]
    assert labels["com.docker.compose.project"] == "demo"
    assert labels["com.docker.compose.service"] == "web"
    assert labels["com.docker.compose.container-number"] == "2"
    assert labels["com.docker.compose.oneoff"] == "False"
    assert labels["com.docker.compose.version"] == "2.20.0"
    assert labels["com.docker.compose.project.working_dir"] == "/srv/demo"
    assert labels["com.docker.compose.project.config_files"] == "/srv/demo/compose.yaml"
    assert len(labels["com.docker.compose.config-hash"]) == HASH_LEN
    assert labels["com.docker.compose.depends_on"] == ""
    assert (created["AttachStdin"], created["AttachStdout"], created["AttachStderr"]) == (False, True, True)


def test_build_only_service_gets_project_service_image():
    created = body({"build": {"context": "/srv/demo/web", "dockerfile": "Dockerfile"}})
    assert created["Image"] == "demo-web"


def test_service_labels_extra_labels_and_image_id():
    p = project({"web": {"image": "busybox", "labels": {"a.b": "1"}}})
    _, created = specs.container_body(p, "web", 1, extra_labels={"com.docker.compose.replace": "x"},
                                      image_id="sha256:abc")
    assert created["Labels"]["a.b"] == "1"
    assert created["Labels"]["com.docker.compose.replace"] == "x"
    assert created["Labels"]["com.docker.compose.image"] == "sha256:abc"


def test_depends_on_label_sorted_with_condition_and_restart():
    created = body({"image": "b", "depends_on": {
        "db": {"condition": "service_healthy", "restart": True, "required": True},
        "cache": {"condition": "service_started", "restart": False, "required": True}}})
    assert created["Labels"]["com.docker.compose.depends_on"] == \
        "cache:service_started:false,db:service_healthy:true"


def test_container_name_honoured_and_refused_with_scale():
    assert specs.container_body(project({"web": {"image": "b", "container_name": "my"}}), "web", 1)[0] == "my"
    with pytest.raises(InvalidArgument, match="container_name"):
        specs.container_body(project({"web": {"image": "b", "container_name": "my", "scale": 2}}), "web", 1)
    with pytest.raises(InvalidArgument, match="container_name"):
        specs.container_body(project({"web": {"image": "b", "container_name": "my",
                                              "deploy": {"replicas": 3}}}), "web", 1)


def test_oneoff_name_labels_no_restart_and_only_name_alias():
    p = project({"web": {"image": "b", "restart": "always"}})
    name, created = specs.container_body(p, "web", 1, oneoff=True)
    prefix, _, slug = name.rpartition("-")
    assert prefix == "demo-web-run" and len(slug) == 12 and int(slug, 16) >= 0
    assert created["Labels"]["com.docker.compose.oneoff"] == "True"
    assert created["Labels"]["com.docker.compose.slug"].startswith(slug)
    assert "RestartPolicy" not in created["HostConfig"]
    assert created["NetworkingConfig"]["EndpointsConfig"]["demo_default"]["Aliases"] == [name]
    other, _ = specs.container_body(p, "web", 1, oneoff=True)
    assert other != name
    assert specs.container_body(p, "web", 1, oneoff=True, name="mine")[0] == "mine"


def test_unknown_service():
    with pytest.raises(NotFound, match="no such service: nope"):
        specs.container_body(project({"web": {"image": "b"}}), "nope", 1)


# --- process ------------------------------------------------------------------------------


def test_command_entrypoint_workdir_user_hostname():
    created = body({"image": "b", "command": ["sh", "-c", "echo hi"], "entrypoint": ["/init"],
                    "working_dir": "/app", "user": "1000:1000", "hostname": "h",
                    "domainname": "example.org"})
    assert created["Cmd"] == ["sh", "-c", "echo hi"]
    assert created["Entrypoint"] == ["/init"]
    assert created["WorkingDir"] == "/app"
    assert created["User"] == "1000:1000"
    assert created["Hostname"] == "h"
    assert created["Domainname"] == "example.org"


def test_empty_entrypoint_is_sent_to_reset_the_image_one():
    assert body({"image": "b", "entrypoint": []})["Entrypoint"] == []
    assert "Entrypoint" not in body({"image": "b"})


def test_environment_drops_unset_values():
    created = body({"image": "b", "environment": {"A": "1", "B": None, "C": ""}})
    assert created["Env"] == ["A=1", "C="]


def test_tty_and_stdin_open():
    created = body({"image": "b", "tty": True, "stdin_open": True})
    assert (created["Tty"], created["OpenStdin"], created["AttachStdin"], created["StdinOnce"]) == \
        (True, True, False, False)


def test_stop_signal_and_grace_period_in_seconds():
    created = body({"image": "b", "stop_signal": "SIGINT", "stop_grace_period": "1m30s"})
    assert created["StopSignal"] == "SIGINT"
    assert created["StopTimeout"] == 90


def test_healthcheck_in_nanoseconds():
    created = body({"image": "b", "healthcheck": {
        "test": ["CMD-SHELL", "true"], "interval": "10s", "timeout": "500ms",
        "start_period": "1m", "retries": 3}})
    assert created["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 10_000_000_000,
                                      "Timeout": 500_000_000, "StartPeriod": 60_000_000_000,
                                      "Retries": 3}


def test_healthcheck_disable_is_none():
    assert body({"image": "b", "healthcheck": {"disable": True}})["Healthcheck"] == {"Test": ["NONE"]}


# --- ports --------------------------------------------------------------------------------


def test_ports_and_expose():
    created = body({"image": "b", "expose": ["3000", "4000-4001/udp"], "ports": [
        {"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"},
        {"mode": "ingress", "target": 53, "published": "5353", "host_ip": "127.0.0.1", "protocol": "udp"},
        {"mode": "ingress", "target": 80, "published": "8081", "protocol": "tcp"},
        {"mode": "ingress", "target": 9000, "protocol": "tcp"},
        {"mode": "ingress", "target": 7000, "published": "7000-7010", "protocol": "tcp"},
    ]})
    assert set(created["ExposedPorts"]) == {"3000/tcp", "4000/udp", "4001/udp", "80/tcp", "53/udp",
                                            "9000/tcp", "7000/tcp"}
    assert created["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}, {"HostIp": "", "HostPort": "8081"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
        "9000/tcp": [{"HostIp": "", "HostPort": ""}],
        "7000/tcp": [{"HostIp": "", "HostPort": "7000-7010"}],
    }


def test_bad_expose():
    with pytest.raises(InvalidArgument, match="expose"):
        body({"image": "b", "expose": ["http"]})


# --- restart ------------------------------------------------------------------------------


@pytest.mark.parametrize("restart, expected", [
    ("always", {"Name": "always", "MaximumRetryCount": 0}),
    ("no", {"Name": "no", "MaximumRetryCount": 0}),
    ("unless-stopped", {"Name": "unless-stopped", "MaximumRetryCount": 0}),
    ("on-failure:3", {"Name": "on-failure", "MaximumRetryCount": 3}),
])
def test_restart(restart, expected):
    assert host({"image": "b", "restart": restart})["RestartPolicy"] == expected


def test_no_restart_key_sends_no_policy():
    assert "RestartPolicy" not in host({"image": "b"})


@pytest.mark.parametrize("condition, name", [("none", "no"), ("any", "always"), ("on-failure", "on-failure")])
def test_deploy_restart_policy_wins(condition, name):
    policy = host({"image": "b", "restart": "always", "deploy": {
        "restart_policy": {"condition": condition, "max_attempts": 5}}})["RestartPolicy"]
    assert policy == {"Name": name, "MaximumRetryCount": 5}


# --- resources ----------------------------------------------------------------------------


def test_service_resource_keys():
    hc = host({"image": "b", "mem_limit": 64 << 20, "cpus": 0.5, "pids_limit": 100,
               "shm_size": 1 << 26})
    assert (hc["Memory"], hc["NanoCpus"], hc["PidsLimit"], hc["ShmSize"]) == \
        (64 << 20, 500_000_000, 100, 1 << 26)


def test_deploy_limits_override_and_reservations():
    hc = host({"image": "b", "mem_limit": 1 << 30, "cpus": 2.0, "deploy": {"resources": {
        "limits": {"cpus": "0.25", "memory": 32 << 20, "pids": 50},
        "reservations": {"cpus": "0.1", "memory": 16 << 20}}}})
    assert (hc["Memory"], hc["NanoCpus"], hc["PidsLimit"], hc["MemoryReservation"]) == \
        (32 << 20, 250_000_000, 50, 16 << 20)
    assert "CpuShares" not in hc  # a CPU reservation is the cluster's


def test_ulimits():
    hc = host({"image": "b", "ulimits": {"nproc": 65535, "nofile": {"soft": 1024, "hard": 2048}}})
    assert hc["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048},
                             {"Name": "nproc", "Soft": 65535, "Hard": 65535}]


def test_devices():
    hc = host({"image": "b", "devices": ["/dev/fuse", "/dev/sda:/dev/xvda:r",
                                         "/dev/null:/dev/nil"]})
    assert hc["Devices"] == [
        {"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rwm"},
        {"PathOnHost": "/dev/sda", "PathInContainer": "/dev/xvda", "CgroupPermissions": "r"},
        {"PathOnHost": "/dev/null", "PathInContainer": "/dev/nil", "CgroupPermissions": "rwm"},
    ]


# --- security and system ------------------------------------------------------------------


def test_caps_privileged_read_only_init_group_add():
    hc = host({"image": "b", "cap_add": ["NET_ADMIN"], "cap_drop": ["ALL"], "privileged": True,
               "read_only": True, "init": True, "group_add": ["audio", 42]})
    assert hc["CapAdd"] == ["NET_ADMIN"] and hc["CapDrop"] == ["ALL"]
    assert hc["Privileged"] is True and hc["ReadonlyRootfs"] is True and hc["Init"] is True
    assert hc["GroupAdd"] == ["audio", "42"]


def test_init_false_is_sent():
    assert host({"image": "b", "init": False})["Init"] is False
    assert "Init" not in host({"image": "b"})


def test_security_opt_seccomp_file_inlined(tmp_path):
    (tmp_path / "prof.json").write_text('{ "defaultAction": "SCMP_ACT_ALLOW" }')
    p = project({"web": {"image": "b", "security_opt": [
        "no-new-privileges", "seccomp=prof.json", "label:disable", "systempaths=unconfined"]}})
    p.working_dir = str(tmp_path)
    hc = specs.container_body(p, "web", 1)[1]["HostConfig"]
    assert hc["SecurityOpt"] == ["no-new-privileges", 'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}',
                                 "label:disable"]
    assert hc["MaskedPaths"] == [] and hc["ReadonlyPaths"] == []


def test_security_opt_missing_profile():
    with pytest.raises(InvalidArgument, match="seccomp profile"):
        host({"image": "b", "security_opt": ["seccomp=/nonexistent.json"]})


def test_dns_extra_hosts_sysctls_tmpfs_logging():
    hc = host({"image": "b", "dns": ["1.1.1.1"], "dns_search": ["example.org"],
               "dns_opt": ["ndots:2"], "extra_hosts": ["db:10.0.0.2"],
               "sysctls": {"net.core.somaxconn": 1024}, "tmpfs": ["/run", "/tmp:size=64k"],
               "logging": {"driver": "json-file", "options": {"max-size": "1m"}}})
    assert hc["Dns"] == ["1.1.1.1"] and hc["DnsSearch"] == ["example.org"]
    assert hc["DnsOptions"] == ["ndots:2"] and hc["ExtraHosts"] == ["db:10.0.0.2"]
    assert hc["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert hc["Tmpfs"] == {"/run": "", "/tmp": "size=64k"}
    assert hc["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}


def test_engine_keys_taken_as_they_are():
    hc = host({"image": "b", "ipc": "shareable", "pid": "host", "uts": "host", "cgroup": "private",
               "userns_mode": "host", "runtime": "runc", "cgroup_parent": "/custom",
               "cpuset": "0-1", "cpu_shares": 512, "cpu_period": 100000, "cpu_quota": 50000,
               "mem_reservation": 1 << 20, "memswap_limit": 1 << 30, "mem_swappiness": 10,
               "oom_score_adj": -100, "oom_kill_disable": True, "storage_opt": {"size": "1G"}})
    assert {k: hc[k] for k in ("IpcMode", "PidMode", "UTSMode", "CgroupnsMode", "UsernsMode",
                               "Runtime", "CgroupParent", "CpusetCpus", "CpuShares", "CpuPeriod",
                               "CpuQuota", "MemoryReservation", "MemorySwap", "MemorySwappiness",
                               "OomScoreAdj", "OomKillDisable", "StorageOpt")} == {
        "IpcMode": "shareable", "PidMode": "host", "UTSMode": "host", "CgroupnsMode": "private",
        "UsernsMode": "host", "Runtime": "runc", "CgroupParent": "/custom", "CpusetCpus": "0-1",
        "CpuShares": 512, "CpuPeriod": 100000, "CpuQuota": 50000, "MemoryReservation": 1 << 20,
        "MemorySwap": 1 << 30, "MemorySwappiness": 10, "OomScoreAdj": -100,
        "OomKillDisable": True, "StorageOpt": {"size": "1G"}}
    assert body({"image": "b", "mac_address": "02:42:ac:11:00:02"})["MacAddress"] == "02:42:ac:11:00:02"


def test_deploy_reservation_wins_over_mem_reservation():
    hc = host({"image": "b", "mem_reservation": 1 << 20,
               "deploy": {"resources": {"reservations": {"memory": 2 << 20}}}})
    assert hc["MemoryReservation"] == 2 << 20


def test_volumes_from():
    p = project({"web": {"image": "b", "volumes_from": ["data", "data:ro", "container:other:ro"]},
                 "data": {"image": "b"}})
    hc = specs.container_body(p, "web", 1)[1]["HostConfig"]
    assert hc["VolumesFrom"] == ["demo-data-1:rw", "demo-data-1:ro", "other:ro"]
    client = FakeClient([{"Id": "1", "Names": ["/custom-data"], "Labels": {
        "com.docker.compose.service": "data", "com.docker.compose.container-number": "1"}}])
    hc = specs.container_body(p, "web", 1, client=client)[1]["HostConfig"]
    assert hc["VolumesFrom"][0] == "custom-data:rw"
    with pytest.raises(InvalidArgument, match="unknown service 'nope'"):
        host({"image": "b", "volumes_from": ["nope"]})


# --- volumes, secrets, configs ------------------------------------------------------------


def test_volumes_binds_and_mounts():
    hc = host({"image": "b", "volumes": [
        {"type": "volume", "source": "data", "target": "/data"},
        {"type": "volume", "target": "/anon", "volume": {"nocopy": True}},
        {"type": "bind", "source": "/srv/demo/conf", "target": "/conf", "read_only": True,
         "bind": {"create_host_path": True}},
        {"type": "bind", "source": "/srv/demo/long", "target": "/long"},
        {"type": "bind", "source": "/srv/demo/must", "target": "/must",
         "bind": {"create_host_path": False}},
        {"type": "bind", "source": "/srv/demo/shared", "target": "/shared",
         "bind": {"create_host_path": True, "propagation": "rshared"}},
        {"type": "tmpfs", "target": "/scratch", "tmpfs": {"size": 1 << 20, "mode": "1777"}},
    ]}, volumes={"data": {"name": "demo_data"}})
    assert hc["Binds"] == ["/srv/demo/conf:/conf:ro", "/srv/demo/long:/long:rw"]
    assert hc["Mounts"] == [
        {"Type": "volume", "Source": "demo_data", "Target": "/data", "ReadOnly": False},
        {"Type": "volume", "Target": "/anon", "ReadOnly": False, "VolumeOptions": {"NoCopy": True}},
        {"Type": "bind", "Source": "/srv/demo/must", "Target": "/must", "ReadOnly": False},
        {"Type": "bind", "Source": "/srv/demo/shared", "Target": "/shared", "ReadOnly": False,
         "BindOptions": {"Propagation": "rshared"}},
        {"Type": "tmpfs", "Target": "/scratch", "ReadOnly": False,
         "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1777}},
    ]


def test_external_volume_uses_its_name():
    hc = host({"image": "b", "volumes": [{"type": "volume", "source": "ext", "target": "/x"}]},
              volumes={"ext": {"name": "shared-data", "external": True}})
    assert hc["Mounts"][0]["Source"] == "shared-data"


def test_npipe_refused():
    with pytest.raises(InvalidArgument, match="npipe"):
        host({"image": "b", "volumes": [{"type": "npipe", "source": "x", "target": "y"}]})


def test_file_secrets_and_configs_are_read_only_binds():
    hc = host({"image": "b",
               "secrets": [{"source": "token"}, {"source": "cert", "target": "tls.pem"},
                           {"source": "key", "target": "/etc/key"}],
               "configs": [{"source": "nginx"}, {"source": "app", "target": "/etc/app.ini"}]},
              secrets={"token": {"name": "demo_token", "file": "/srv/demo/token.txt"},
                       "cert": {"name": "demo_cert", "file": "/srv/demo/cert.pem"},
                       "key": {"name": "demo_key", "file": "/srv/demo/key"}},
              configs={"nginx": {"name": "demo_nginx", "file": "/srv/demo/nginx.conf"},
                       "app": {"name": "demo_app", "file": "/srv/demo/app.ini"}})
    assert hc["Mounts"] == [
        {"Type": "bind", "Source": "/srv/demo/token.txt", "Target": "/run/secrets/token", "ReadOnly": True},
        {"Type": "bind", "Source": "/srv/demo/cert.pem", "Target": "/run/secrets/tls.pem", "ReadOnly": True},
        {"Type": "bind", "Source": "/srv/demo/key", "Target": "/etc/key", "ReadOnly": True},
        {"Type": "bind", "Source": "/srv/demo/nginx.conf", "Target": "/nginx", "ReadOnly": True},
        {"Type": "bind", "Source": "/srv/demo/app.ini", "Target": "/etc/app.ini", "ReadOnly": True},
    ]


def test_external_or_environment_secret_refused():
    with pytest.raises(InvalidArgument, match="external secret"):
        host({"image": "b", "secrets": [{"source": "s"}]}, secrets={"s": {"name": "s", "external": True}})
    with pytest.raises(InvalidArgument, match="file-based"):
        host({"image": "b", "secrets": [{"source": "s"}]}, secrets={"s": {"name": "s", "environment": "X"}})


# --- networking ---------------------------------------------------------------------------


def test_default_network_aliases():
    created = body({"image": "b"})
    assert created["HostConfig"]["NetworkMode"] == "demo_default"
    assert created["NetworkingConfig"] == {"EndpointsConfig": {"demo_default": {
        "Aliases": ["demo-web-1", "web"]}}}


def test_networks_by_priority_aliases_and_address():
    nets = {"front": {"name": "demo_front"}, "back": {"name": "demo_back"},
            "zed": {"name": "custom-zed"}}
    service = {"image": "b", "networks": {
        "front": None,
        "zed": {"aliases": ["api"], "ipv4_address": "172.30.0.5", "priority": 10},
        "back": {"aliases": ["internal"]}}}
    p = project({"web": service}, networks=nets)
    created = specs.container_body(p, "web", 1)[1]
    assert created["HostConfig"]["NetworkMode"] == "custom-zed"
    assert created["NetworkingConfig"] == {"EndpointsConfig": {"custom-zed": {
        "Aliases": ["demo-web-1", "web", "api"], "IPAMConfig": {"IPv4Address": "172.30.0.5"}}}}
    assert specs.extra_networks(p, "web", 1) == [
        ("demo_back", {"Aliases": ["demo-web-1", "web", "internal"]}),
        ("demo_front", {"Aliases": ["demo-web-1", "web"]}),
    ]
    assert specs.extra_networks(p, "web") == [
        ("demo_back", {"Aliases": ["web", "internal"]}), ("demo_front", {"Aliases": ["web"]})]


@pytest.mark.parametrize("mode", ["host", "none", "container:abc"])
def test_network_mode_passes_through(mode):
    created = body({"image": "b", "network_mode": mode})
    assert created["HostConfig"]["NetworkMode"] == mode
    assert "NetworkingConfig" not in created


class FakeClient:
    def __init__(self, containers):
        self.containers = containers
        self.calls = []

    def get(self, path, **params):
        self.calls.append((path, params))
        return self.containers


def test_network_mode_service_resolves_running_container():
    p = project({"web": {"image": "b", "network_mode": "service:db"}, "db": {"image": "b"}})
    client = FakeClient([
        {"Id": "dead", "Names": ["/demo-db-1"], "State": "exited", "Labels": {
            "com.docker.compose.service": "db", "com.docker.compose.container-number": "1"}},
        {"Id": "f00d", "Names": ["/demo-db-2"], "State": "running", "Labels": {
            "com.docker.compose.service": "db", "com.docker.compose.container-number": "2"}}])
    created = specs.container_body(p, "web", 1, client=client)[1]
    assert created["HostConfig"]["NetworkMode"] == "container:f00d"  # a running one first
    assert client.calls[0][0] == "/containers/json" and client.calls[0][1]["all"] is True
    client.containers = client.containers[:1]
    assert specs.container_body(p, "web", 1, client=client)[1]["HostConfig"]["NetworkMode"] == \
        "container:dead"  # created, not started yet: compose creates before it starts
    assert specs.extra_networks(p, "web", 1) == []


def test_network_mode_service_without_container():
    p = project({"web": {"image": "b", "network_mode": "service:db"}, "db": {"image": "b"}})
    with pytest.raises(NotFound, match="service db has no container"):
        specs.container_body(p, "web", 1, client=FakeClient([]))
    assert specs.container_body(p, "web", 1)[1]["HostConfig"]["NetworkMode"] == "container:demo-db-1"


def test_undefined_network():
    with pytest.raises(InvalidArgument, match="undefined network nope"):
        body({"image": "b", "networks": {"nope": None}})


def test_network_body():
    p = project({}, networks={"back": {
        "name": "demo_back", "driver": "bridge", "internal": True, "attachable": True,
        "driver_opts": {"com.docker.network.bridge.name": "br-back"},
        "labels": {"team": "x"},
        "ipam": {"driver": "default", "config": [{"subnet": "172.31.0.0/16", "ip_range": "172.31.5.0/24",
                                                  "gateway": "172.31.0.1",
                                                  "aux_addresses": {"h": "172.31.0.9"}}]}}})
    assert specs.network_body(p, "back") == {
        "Name": "demo_back", "CheckDuplicate": True, "Driver": "bridge", "Internal": True,
        "Attachable": True, "EnableIPv6": False,
        "Options": {"com.docker.network.bridge.name": "br-back"},
        "Labels": {"team": "x", "com.docker.compose.network": "back",
                   "com.docker.compose.project": "demo", "com.docker.compose.version": "2.20.0"},
        "IPAM": {"Driver": "default", "Options": {}, "Config": [{
            "Subnet": "172.31.0.0/16", "IPRange": "172.31.5.0/24", "Gateway": "172.31.0.1",
            "AuxiliaryAddresses": {"h": "172.31.0.9"}}]},
    }


def test_network_body_external_refused():
    p = project({}, networks={"ext": {"name": "outside", "external": True}})
    with pytest.raises(InvalidArgument, match="external"):
        specs.network_body(p, "ext")


def test_volume_body():
    p = project({}, volumes={"data": {"name": "demo_data", "driver_opts": {"type": "tmpfs"},
                                      "labels": {"k": "v"}}})
    assert specs.volume_body(p, "data") == {
        "Name": "demo_data", "Driver": "local", "DriverOpts": {"type": "tmpfs"},
        "Labels": {"k": "v", "com.docker.compose.volume": "data", "com.docker.compose.project": "demo",
                   "com.docker.compose.version": "2.20.0"}}


# --- config hash --------------------------------------------------------------------------


def test_config_hash_stable_and_ignores_scale_build_order():
    base = {"image": "b", "environment": {"A": "1", "B": "2"}}
    first = specs.config_hash(project({"web": base}), "web")
    reordered = {"environment": {"B": "2", "A": "1"}, "image": "b"}
    assert specs.config_hash(project({"web": reordered}), "web") == first
    scaled = {**base, "scale": 3, "deploy": {"replicas": 3}, "build": {"context": "/x"},
              "pull_policy": "build", "depends_on": {"db": {"condition": "service_started"}},
              "profiles": ["p"]}
    assert specs.config_hash(project({"web": scaled}), "web") == first
    changed = {**base, "environment": {"A": "1", "B": "3"}}
    assert specs.config_hash(project({"web": changed}), "web") != first
    assert len(first) == HASH_LEN and json.dumps(first)
