"""`estiba network ...` and `estiba port`: the requests they send and docker's output."""

from __future__ import annotations

import pytest

from estiba.errors import NotFound
from tests.unit.cli.test_groups import RecordingClient, run

NETS = [
    {"Name": "n1", "Id": "b" * 64, "Driver": "bridge", "Scope": "local", "Labels": {"a": "1"}},
    {"Name": "bridge", "Id": "a" * 64, "Driver": "bridge", "Scope": "local", "Labels": {}},
]


def test_create_sends_docker_body_and_prints_the_id():
    client = RecordingClient({("POST", "/networks/create"): {"Id": "f" * 64, "Warning": ""}})
    code, out = run(["network", "create", "--subnet", "10.1.0.0/24", "--gateway", "10.1.0.254",
                     "--internal", "--label", "k=v", "-o", "com.docker.network.bridge.name=x", "n1"], client)
    assert code == 0 and out == "f" * 64 + "\n"
    body = client.requests[0][3]
    assert body["Name"] == "n1" and body["Internal"] is True
    assert body["IPAM"]["Config"] == [{"Subnet": "10.1.0.0/24", "Gateway": "10.1.0.254"}]
    assert body["Labels"] == {"k": "v"} and body["Options"] == {"com.docker.network.bridge.name": "x"}


def test_ls_prints_dockers_table_sorted_by_name_and_quiet_ids():
    client = RecordingClient({("GET", "/networks"): [dict(n) for n in NETS]})
    code, out = run(["network", "ls"], client)
    assert out.splitlines() == [
        "NETWORK ID     NAME      DRIVER    SCOPE",
        "aaaaaaaaaaaa   bridge    bridge    local",
        "bbbbbbbbbbbb   n1        bridge    local",
    ]
    _, quiet = run(["network", "ls", "-q"], RecordingClient({("GET", "/networks"): [dict(n) for n in NETS]}))
    assert quiet == "aaaaaaaaaaaa\nbbbbbbbbbbbb\n"


def test_rm_connect_disconnect_and_prune():
    client = RecordingClient({("POST", "/networks/prune"): {"NetworksDeleted": ["n1", "n2"]}})
    assert run(["network", "rm", "n1"], client) == (0, "n1\n")
    run(["network", "connect", "--alias", "db", "--ip", "10.1.0.9", "n1", "web"], client)
    run(["network", "disconnect", "-f", "n1", "web"], client)
    code, out = run(["network", "prune", "-f"], client)
    assert out == "Deleted Networks:\nn1\nn2\n"
    assert client.requests[1][1:] == ("/networks/n1/connect", {}, {
        "Container": "web", "EndpointConfig": {"Aliases": ["db"], "IPAMConfig": {"IPv4Address": "10.1.0.9", "IPv6Address": ""}}})
    assert client.requests[2][3] == {"Container": "web", "Force": True}


def test_port_lists_mappings_and_one_port():
    ports = {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "18080"}], "53/udp": [{"HostIp": "", "HostPort": "5353"}],
             "443/tcp": None}
    client = RecordingClient({("GET", "/containers/web/json"): {"NetworkSettings": {"Ports": ports}}})
    assert run(["port", "web"], client)[1] == "53/udp -> 0.0.0.0:5353\n8080/tcp -> 0.0.0.0:18080\n"
    assert run(["port", "web", "8080"], client)[1] == "0.0.0.0:18080\n"
    with pytest.raises(NotFound, match="No public port '443/tcp' published for web"):
        run(["port", "web", "443/tcp"], client)


def test_port_add_and_rm_beyond_docker():
    client = RecordingClient({("POST", "/estiba/containers/web/ports"):
                              {"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}})
    assert run(["port", "add", "web", "127.0.0.1:8080:80"], client)[1] == "80/tcp -> 127.0.0.1:8080\n"
    assert client.requests[0][3] == {"PrivatePort": 80, "Type": "tcp", "IP": "127.0.0.1", "PublicPort": 8080}
    run(["port", "rm", "web", "8080/udp"], client)
    assert client.requests[1][:3] == ("DELETE", "/estiba/containers/web/ports/8080", {"proto": "udp"})
