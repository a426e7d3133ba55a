"""estiba.compose.specs against a real estibad: the create bodies are accepted and the
container's inspect shows the service's keys (ports, mounts, env, restart policy,
healthcheck, limits, networks and aliases)."""

from __future__ import annotations

from pathlib import Path

from estiba.cli.client import Client
from estiba.compose import specs
from estiba.compose.model import Project
from tests.integration.daemon.conftest import Estibad


def test_container_body_round_trips_through_inspect(busybox: Estibad, tmp_path: Path) -> None:
    client = Client(busybox.url)
    conf = tmp_path / "conf"
    conf.mkdir()
    secret = tmp_path / "token.txt"
    secret.write_text("s3cret\n")
    config = {
        "name": "specsrt",
        "services": {"web": {
            "image": "busybox",
            "command": ["sleep", "300"],
            "environment": {"GREETING": "hello", "UNSET": None},
            "working_dir": "/tmp",
            "hostname": "webhost",
            "ports": [{"mode": "ingress", "target": 80, "published": "18089", "protocol": "tcp"}],
            "expose": ["9000"],
            "volumes": [
                {"type": "volume", "source": "data", "target": "/data"},
                {"type": "bind", "source": str(conf), "target": "/conf", "read_only": True},
                {"type": "bind", "source": str(tmp_path / "made-by-daemon"), "target": "/made"},
                {"type": "tmpfs", "target": "/scratch"},
            ],
            "secrets": [{"source": "token"}],
            "restart": "on-failure:3",
            "healthcheck": {"test": ["CMD-SHELL", "true"], "interval": "5s", "retries": 2},
            "mem_limit": 64 << 20,
            "cpus": 0.5,
            "pids_limit": 50,
            "stop_signal": "SIGINT",
            "stop_grace_period": "7s",
            "labels": {"team": "a"},
            "networks": {"default": None, "back": {"aliases": ["api"]}},
        }},
        "networks": {"default": {"name": "specsrt_default"}, "back": {"name": "specsrt_back"}},
        "volumes": {"data": {"name": "specsrt_data"}},
        "secrets": {"token": {"name": "specsrt_token", "file": str(secret)}},
    }
    project = Project("specsrt", str(tmp_path), [str(tmp_path / "compose.yaml")], config)
    made: list[str] = []
    try:
        for key in ("default", "back"):
            client.post("/networks/create", specs.network_body(project, key))
        client.post("/volumes/create", specs.volume_body(project, "data"))
        name, body = specs.container_body(project, "web", 1)
        created = client.post("/containers/create", body, name=name)
        made.append(created["Id"])
        for network, endpoint in specs.extra_networks(project, "web", 1):
            client.post(f"/networks/{network}/connect", {"Container": created["Id"], "EndpointConfig": endpoint})
        client.post(f"/containers/{created['Id']}/start")
        seen = client.get(f"/containers/{created['Id']}/json")

        assert seen["Name"] == "/specsrt-web-1"
        assert seen["Config"]["Labels"]["com.docker.compose.service"] == "web"
        assert seen["Config"]["Labels"]["team"] == "a"
        assert seen["Config"]["Labels"]["com.docker.compose.config-hash"] == specs.config_hash(project, "web")
        assert "GREETING=hello" in seen["Config"]["Env"]
        assert not any(e.startswith("UNSET") for e in seen["Config"]["Env"])
        assert seen["Config"]["Cmd"] == ["sleep", "300"]
        assert seen["Config"]["WorkingDir"] == "/tmp"
        assert seen["Config"]["Hostname"] == "webhost"
        assert seen["Config"]["StopSignal"] == "SIGINT"
        assert seen["Config"]["StopTimeout"] == 7
        assert set(seen["Config"]["ExposedPorts"]) == {"80/tcp", "9000/tcp"}
        assert seen["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "true"],
                                                 "Interval": 5_000_000_000, "Retries": 2}
        host = seen["HostConfig"]
        assert host["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "18089"}]}
        assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
        assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (64 << 20, 500_000_000, 50)
        assert host["NetworkMode"] == "specsrt_back"  # same priority: the first by name
        mounts = {m["Destination"]: m for m in seen["Mounts"]}
        assert mounts["/data"]["Type"] == "volume" and mounts["/data"]["Name"] == "specsrt_data"
        assert mounts["/conf"]["Type"] == "bind" and mounts["/conf"]["RW"] is False
        assert mounts["/run/secrets/token"]["Source"] == str(secret)
        assert mounts["/run/secrets/token"]["RW"] is False
        assert (tmp_path / "made-by-daemon").is_dir()  # a Binds entry: the daemon made it
        networks = seen["NetworkSettings"]["Networks"]
        assert set(networks) == {"specsrt_default", "specsrt_back"}
        assert {"specsrt-web-1", "web", "api"} <= set(networks["specsrt_back"]["Aliases"])
        assert {"specsrt-web-1", "web"} <= set(networks["specsrt_default"]["Aliases"])

        # what the process sees: the secret, the tmpfs, the environment
        run = client.post(f"/containers/{created['Id']}/exec", {
            "Cmd": ["sh", "-c", "cat /run/secrets/token; grep ' /scratch ' /proc/mounts | cut -d' ' -f3;"
                    " echo $GREETING"], "AttachStdout": True, "AttachStderr": True})
        response = client.open("POST", f"/exec/{run['Id']}/start", body={"Detach": False, "Tty": True})
        output = response.read().decode()
        response.close()
        assert output.split() == ["s3cret", "tmpfs", "hello"]

        inspected_network = client.get("/networks/specsrt_back")
        assert inspected_network["Labels"]["com.docker.compose.network"] == "back"
        assert client.get("/volumes/specsrt_data")["Labels"]["com.docker.compose.volume"] == "data"
    finally:
        for ident in made:
            client.call("DELETE", f"/containers/{ident}", {"force": True, "v": True})
        for network in ("specsrt_default", "specsrt_back"):
            try:
                client.call("DELETE", f"/networks/{network}")
            except Exception:  # noqa: BLE001 - best-effort cleanup; the assertions said what failed
                pass
        try:
            client.call("DELETE", "/volumes/specsrt_data")
        except Exception:  # noqa: BLE001
            pass
