"""`estiba compose up -d`, ps, stop, start and `down -v` against a real estibad: what the
user sees, and that down leaves no container, network or volume behind."""

from __future__ import annotations

import json

from tests.integration.compose.services import SERVE

TWO_SERVICES = f"""
services:
  web:
    image: busybox
    command: {SERVE}
    depends_on: [db]
    environment:
      GREETING: hello
  db:
    image: busybox
    command: {SERVE}
    volumes:
      - data:/var/lib/db
volumes:
  data: {{}}
"""


def test_up_ps_stop_start_down_leaves_nothing(compose):
    app = compose(TWO_SERVICES)
    before = app.objects()

    up = app.run("up", "-d")
    name = app.name
    assert f" Network {name}_default  Created" in up.stderr
    assert f' Volume "{name}_data"  Created' in up.stderr
    assert f" Container {name}-db-1  Started" in up.stderr
    assert f" Container {name}-web-1  Started" in up.stderr
    assert up.stderr.index(f"{name}-db-1  Started") < up.stderr.index(f"{name}-web-1  Starting")

    lines = app.run("ps").stdout.splitlines()
    assert lines[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {f"{name}-db-1", f"{name}-web-1"}
    assert all(" Up " in row for row in rows.values())
    after_up = app.objects()
    assert {f"{name}_default"} <= after_up.networks and {f"{name}_data"} <= after_up.volumes

    stop = app.run("stop")
    assert stop.stderr.index(f"{name}-web-1  Stopped") < stop.stderr.index(f"{name}-db-1  Stopping")
    assert app.run("ps").stdout.splitlines()[1:] == []
    stopped = app.run("ps", "-a").stdout
    assert stopped.count("Exited (0)") == 2

    app.run("start")
    assert {c["State"] for c in app.containers().values()} == {"running"}

    down = app.run("down", "-v")
    assert f" Network {name}_default  Removed" in down.stderr
    assert f" Volume {name}_data  Removed" in down.stderr
    assert app.objects() == before


def test_down_by_project_name_needs_no_file(compose):
    app = compose(TWO_SERVICES)
    before = app.objects()
    app.run("up", "-d")
    app.file.unlink()
    import subprocess

    from tests.integration.daemon.conftest import BIN

    result = subprocess.run(
        [str(BIN / "estiba"), "-H", app.daemon.url, "compose", "-p", app.name, "down", "-v"],
        capture_output=True, text=True, env=app.env(), cwd=app.directory, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    n = app.name  # dependents first, from the containers' depends_on label
    assert result.stderr.index(f"{n}-web-1  Removed") < result.stderr.index(f"{n}-db-1  Stopping")
    assert app.objects() == before


def test_ps_format_json_lists_the_containers(compose):
    app = compose(TWO_SERVICES)
    app.run("up", "-d")
    listed = json.loads(app.run("ps", "--format", "json").stdout)
    assert sorted((c["Name"], c["Service"], c["State"], c["Project"]) for c in listed) == [
        (f"{app.name}-db-1", "db", "running", app.name),
        (f"{app.name}-web-1", "web", "running", app.name),
    ]
    assert app.run("ps", "-q").stdout.split() == [c["ID"][:12] for c in sorted(listed, key=lambda c: c["Service"])]
    assert app.run("ps", "--services").stdout.split() == ["db", "web"]


def test_unknown_service_is_one_clear_error(compose):
    app = compose(TWO_SERVICES)
    result = app.run("up", "-d", "nope", check=False)
    assert result.returncode != 0
    assert result.stderr.strip() == "no such service: nope"
    assert app.containers() == {}


def test_a_missing_external_network_is_named(compose):
    app = compose(f"""
        services:
          web:
            image: busybox
            command: {SERVE}
            networks: [outside]
        networks:
          outside:
            external: true
            name: not-there-net
    """)
    result = app.run("up", "-d", check=False)
    assert result.returncode != 0
    assert "network not-there-net declared as external, but could not be found" in result.stderr
    assert app.containers() == {}


def test_ls_lists_projects_from_their_labels(compose):
    app = compose(TWO_SERVICES)
    app.run("up", "-d")
    table = app.run("ls").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "CONFIG", "FILES"]
    row = next(line for line in table if line.split()[0] == app.name)
    assert row.split()[1:] == ["running(2)", str(app.file)]
    assert app.name in app.run("ls", "-q").stdout.split()
    listed = {p["Name"]: p for p in json.loads(app.run("ls", "--format", "json").stdout)}
    assert listed[app.name] == {"Name": app.name, "Status": "running(2)", "ConfigFiles": str(app.file)}

    app.run("stop", "web")
    assert "exited(1), running(1)" in app.run("ls").stdout
    app.run("stop")
    assert app.name not in app.run("ls", "-q").stdout.split()
    assert app.name in app.run("ls", "-a", "-q").stdout.split()


def _answer(port: int, timeout: float = 30) -> str:
    """The page on 127.0.0.1:port, once something answers there."""
    import socket
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            if b"200" in data.split(b"\r\n", 1)[0]:
                return data.decode(errors="replace")
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing answers on 127.0.0.1:{port}")
        time.sleep(0.2)


def test_the_seed_wordpress_example(compose):
    """The seed's WordPress + MySQL example (busybox stand-ins built from the fixture):
    up -d, ps, the page on the published port, stop, start, down -v leaves nothing."""
    import shutil
    import socket
    from pathlib import Path

    fixture = Path(__file__).parents[2] / "fixtures" / "compose" / "wordpress"
    app = compose()
    shutil.copytree(fixture, app.directory, dirs_exist_ok=True)
    with socket.socket() as probe:  # 8080 in the seed; a free port here (shared machine)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"WEB_PORT": str(port)}
    before = app.objects()

    app.run("up", "-d", env=env, timeout=300)
    rows = app.run("ps", env=env).stdout.splitlines()[1:]
    assert sorted(row.split()[0] for row in rows) == [f"{app.name}-db-1", f"{app.name}-wordpress-1"]
    assert any(f"0.0.0.0:{port}->80/tcp" in row for row in rows)
    page = _answer(port)
    assert "db reachable: yes" in page

    app.run("stop", env=env)
    assert {c["State"] for c in app.containers().values()} == {"exited"}
    app.run("start", env=env)
    assert "db reachable: yes" in _answer(port)

    app.run("down", "-v", "--rmi", "local", env=env)
    after = app.objects()
    assert (after.containers, after.networks, after.volumes) == (before.containers, before.networks, before.volumes)
