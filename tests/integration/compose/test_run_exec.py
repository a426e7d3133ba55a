"""`estiba compose run`, `exec`, `port` and `top` against a real daemon."""

from __future__ import annotations

import json


FILE = """
services:
  web:
    image: busybox
    command: ["sleep", "300"]
    environment:
      FROM_FILE: file-value
    ports: ["80"]
    depends_on: [db]
  db:
    image: busybox
    command: ["sleep", "300"]
"""

SIDECAR = """
  sidecar:
    image: busybox
    command: ["sleep", "300"]
    network_mode: "service:web"
"""


def test_run_one_off_containers(compose):
    app = compose(FILE)
    before = app.objects()
    result = app.run("run", "--rm", "-e", "EXTRA=given", "web",
                     "sh", "-c", "echo $FROM_FILE $EXTRA; exit 3", check=False)
    assert (result.returncode, result.stdout) == (3, "file-value given\n"), result.stderr
    names = set(app.containers())
    assert names == {f"{app.name}-db-1"}  # its dependency started, the one-off gone
    assert app.containers()[f"{app.name}-db-1"]["State"] == "running"

    kept = app.run("run", "--no-deps", "db", "true")
    assert kept.returncode == 0
    one_offs = [c for c in app.containers().values()
                if c["Labels"]["com.docker.compose.oneoff"] == "True"]
    assert len(one_offs) == 1
    name = one_offs[0]["Names"][0].lstrip("/")
    assert name.startswith(f"{app.name}-db-run-") and len(name) == len(f"{app.name}-db-run-") + 12

    bad = app.run("run", "nope", "true", check=False)
    assert bad.returncode != 0 and "no such service: nope" in bad.stderr

    detached = app.run("run", "-d", "--no-deps", "--name", "custom-one-off", "web", "sleep", "30")
    assert detached.stdout == "custom-one-off\n"
    assert app.containers()["custom-one-off"]["State"] == "running"
    # One-off containers of the model's services go with them, as compose v2's down
    # (no --remove-orphans needed), and so the project network can go too.
    down = app.run("down", "-v", "-t", "0")
    assert "custom-one-off  Removed" in down.stderr and "orphan" not in down.stderr
    assert app.objects() == before


def test_exec_port_top(compose):
    app = compose(FILE + SIDECAR)
    app.run("up", "-d")
    mac = "cat /sys/class/net/eth0/address"
    assert app.run("exec", "-T", "sidecar", "sh", "-c", mac).stdout == \
        app.run("exec", "-T", "web", "sh", "-c", mac).stdout  # one network namespace
    done = app.run("exec", "-T", "web", "sh", "-c", "echo out; echo err >&2; exit 4", check=False)
    assert (done.returncode, done.stdout, done.stderr) == (4, "out\n", "err\n")
    piped = app.run("exec", "-T", "web", "cat", input="through stdin\n")
    assert piped.stdout == "through stdin\n"
    env = app.run("exec", "-T", "-e", "X=1", "-w", "/tmp", "web", "sh", "-c", "echo $X $FROM_FILE $(pwd)")
    assert env.stdout == "1 file-value /tmp\n"

    published = app.run("port", "web", "80").stdout.strip()
    inspect = app.client().get(f"/containers/{app.name}-web-1/json")
    host_port = inspect["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
    assert published.endswith(f":{host_port}") and host_port.isdigit()
    unpublished = app.run("port", "web", "81", check=False)
    assert unpublished.returncode == 1
    assert unpublished.stderr.strip().endswith(f"no port 81/tcp for container {app.name}-web-1")

    top = app.run("top", "web").stdout.splitlines()
    assert top[0] == f"{app.name}-web-1"
    assert top[1].split()[:2] == ["UID", "PID"]
    assert any(line.endswith("sleep 300") for line in top[2:])

    app.run("stop", "-t", "0", "web")
    stopped = app.run("exec", "-T", "web", "true", check=False)
    assert stopped.returncode == 1 and 'service "web" is not running' in stopped.stderr
    assert json.loads(app.run("images", "--format", "json").stdout)  # still listed when stopped
