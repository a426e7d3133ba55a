"""daemon.json's networking keys (dockerd's names): default-address-pools for networks made
without --subnet, bip and bridge for the default bridge, mtu for bridges and containers'
interfaces (with com.docker.network.driver.mtu per network); a changed bip or mtu re-makes
the default network once nothing is on it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.integration.daemon.conftest import Estibad

pytestmark = pytest.mark.timeout(180)


def link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def subnet(daemon: Estibad, network: str) -> str:
    document = json.loads(daemon.docker("network", "inspect", network).stdout)[0]
    return document["IPAM"]["Config"][0]["Subnet"], document["IPAM"]["Config"][0]["Gateway"]


def test_pools_bip_and_bridge_from_daemon_json(make_daemon) -> None:
    bridge = f"estb-{os.urandom(2).hex()}"
    daemon: Estibad = make_daemon()
    daemon.config_file.write_text(json.dumps({
        "log-level": "info", "bip": "10.232.7.1/24", "bridge": bridge,
        "default-address-pools": [{"base": "10.231.0.0/16", "size": 24}],
    }))
    daemon.start()
    daemon.estiba("image", "bootstrap", "busybox")
    assert subnet(daemon, "bridge") == ("10.232.7.0/24", "10.232.7.1")
    assert link_exists(bridge)
    daemon.docker("network", "create", "pooled")
    pooled, gateway = subnet(daemon, "pooled")
    assert pooled.startswith("10.231.") and pooled.endswith(".0/24") and gateway.startswith("10.231.")
    shown = daemon.estiba("run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0").stdout.decode()
    assert " 10.232.7." in shown
    shown = daemon.estiba("run", "--rm", "--network", "pooled", "busybox", "ip", "-4", "-o", "addr", "show",
                          "eth0").stdout.decode()
    assert f" {pooled.rsplit('.', 2)[0]}." in shown

    # Another bip: kept while a container is on the default network, re-made once it is gone.
    sleeper = daemon.estiba("run", "-d", "busybox", "sleep", "600").stdout.decode().strip()
    daemon.terminate()
    daemon.config_file.write_text(json.dumps({"log-level": "info", "bip": "10.233.9.1/24", "bridge": bridge}))
    daemon.start()
    assert subnet(daemon, "bridge") == ("10.232.7.0/24", "10.232.7.1")
    assert "keeps 10.232.7.0/24" in daemon.stderr.read_text()
    daemon.estiba("rm", "-f", sleeper)
    daemon.terminate()
    daemon.start()
    assert subnet(daemon, "bridge") == ("10.233.9.0/24", "10.233.9.1")
    assert "10.233.9." in daemon.estiba("run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show",
                                        "eth0").stdout.decode()
    daemon.docker("network", "rm", "pooled")


def nft_tables() -> set[str]:
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.startswith("table ")}


def test_the_nftables_table_name_is_an_option(make_daemon) -> None:
    first, second = f"estt-{os.urandom(2).hex()}", f"estu-{os.urandom(2).hex()}"
    daemon: Estibad = make_daemon()
    daemon.config_file.write_text(json.dumps({"nftables-table": first}))
    daemon.start()
    assert {first, f"{first}-nat"} <= nft_tables()
    daemon.terminate()
    daemon.config_file.write_text(json.dumps({"nftables-table": second}))
    daemon.start()  # the rules under the old name go
    tables = nft_tables()
    assert {second, f"{second}-nat"} <= tables and not {first, f"{first}-nat"} & tables
    daemon.kill()
    daemon.reap()  # the fixture's clean-up finds the table by the name in use
    assert not {second, f"{second}-nat"} & nft_tables()


def test_a_bad_network_setting_stops_the_daemon_with_one_line(make_daemon) -> None:
    daemon: Estibad = make_daemon()
    daemon.config_file.write_text(json.dumps({"bip": "10.232.7.0/24"}))
    result = subprocess.run(daemon.argv(), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "invalid bip '10.232.7.0/24'" in result.stderr


MTU = "com.docker.network.driver.mtu"


def mtu_in_container(daemon: Estibad, network: str) -> str:
    return daemon.docker("run", "--rm", "--network", network, "busybox",
                         "cat", "/sys/class/net/eth0/mtu").stdout.decode().strip()


def bridge_mtu(device: str) -> str:
    with open(f"/sys/class/net/{device}/mtu") as handle:
        return handle.read().strip()


def inspected(daemon: Estibad, network: str) -> dict:
    return json.loads(daemon.docker("network", "inspect", network).stdout)[0]


def test_mtu_65535_by_default_per_network_option_and_daemon_json(make_daemon) -> None:
    from estiba.network import NetworkOptions

    daemon: Estibad = make_daemon()
    daemon.start()
    daemon.estiba("image", "bootstrap", "busybox")
    default_bridge = NetworkOptions.for_exec_root(daemon.exec_root).default_bridge
    assert mtu_in_container(daemon, "bridge") == "65535" and bridge_mtu(default_bridge) == "65535"
    assert inspected(daemon, "bridge")["Options"][MTU] == "65535"

    plain = daemon.docker("network", "create", "plain").stdout.decode().strip()
    assert mtu_in_container(daemon, "plain") == "65535" and bridge_mtu(f"br-{plain[:12]}") == "65535"
    assert MTU not in inspected(daemon, "plain")["Options"]  # dockerd shows only what was given

    jumbo = daemon.docker("network", "create", "-o", f"{MTU}=9000", "jumbo").stdout.decode().strip()
    assert mtu_in_container(daemon, "jumbo") == "9000" and bridge_mtu(f"br-{jumbo[:12]}") == "9000"
    assert inspected(daemon, "jumbo")["Options"][MTU] == "9000"

    # Another daemon mtu: the default network (nothing on it) is made again with it, user
    # networks without their own follow it, the others keep theirs.
    daemon.terminate()
    daemon.config_file.write_text(json.dumps({"log-level": "info", "mtu": 1500}))
    daemon.start()
    assert mtu_in_container(daemon, "bridge") == "1500" and bridge_mtu(default_bridge) == "1500"
    assert inspected(daemon, "bridge")["Options"][MTU] == "1500"
    assert mtu_in_container(daemon, "plain") == "1500" and bridge_mtu(f"br-{plain[:12]}") == "1500"
    assert mtu_in_container(daemon, "jumbo") == "9000"
    daemon.docker("network", "rm", "plain", "jumbo")


def test_a_bad_mtu_option_is_refused_with_one_line_and_leaves_nothing(make_daemon) -> None:
    import sqlite3

    daemon: Estibad = make_daemon()
    daemon.start()
    before = {name for name in os.listdir("/sys/class/net") if name.startswith("br-")}
    for value in ("abc", "0", "65536"):
        refused = daemon.docker("network", "create", "-o", f"{MTU}={value}", "bad", check=False)
        assert refused.returncode != 0
        assert refused.stderr.decode().strip() == (
            f'Error response from daemon: invalid MTU "{value}" in option {MTU}: give a number from 68 to 65535')
    assert {name for name in os.listdir("/sys/class/net") if name.startswith("br-")} == before
    listed = daemon.docker("network", "ls", "--format", "{{.Name}}").stdout.decode().split()
    assert sorted(listed) == ["bridge", "host", "none"]
    db = sqlite3.connect(str(daemon.data_root / "networks.db"))
    try:
        assert db.execute("SELECT COUNT(*) FROM networks WHERE name = 'bad'").fetchone()[0] == 0
    finally:
        db.close()


def test_a_bad_daemon_mtu_stops_the_daemon_with_one_line(make_daemon) -> None:
    daemon: Estibad = make_daemon()
    daemon.config_file.write_text(json.dumps({"mtu": 70000}))
    result = subprocess.run(daemon.argv(), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip() == (f"estibad: invalid MTU 70000 in option mtu of {daemon.config_file}: "
                                     "give a number from 68 to 65535")
