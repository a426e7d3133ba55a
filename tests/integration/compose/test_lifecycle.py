"""The lifecycle commands (restart, kill, pause, unpause, rm, version, config) and
attached `up`: logs, --abort-on-container-exit, --exit-code-from, Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import time

from tests.integration.compose.services import SERVE


PAIR = f"""
services:
  web:
    image: busybox
    command: {SERVE}
    depends_on: [db]
  db:
    image: busybox
    command: {SERVE}
"""


def states(app) -> dict[str, str]:
    return {name: c["State"] for name, c in app.containers().items()}


def test_restart_kill_pause_unpause_rm(compose):
    app = compose(PAIR)
    n = app.name
    app.run("up", "-d")
    before = app.client().get(f"/containers/{n}-web-1/json")["State"]["StartedAt"]
    restart = app.run("restart", "web")
    assert f" Container {n}-web-1  Restarting" in restart.stderr
    assert app.client().get(f"/containers/{n}-web-1/json")["State"]["StartedAt"] > before
    assert f"{n}-db-1" not in restart.stderr
    both = app.run("restart", "db").stderr  # web depends on db: it restarts too, after db
    assert both.index(f"{n}-db-1  Started") < both.index(f"{n}-web-1  Restarting")
    assert f"{n}-web-1" not in app.run("restart", "--no-deps", "db").stderr

    app.run("pause")
    assert set(states(app).values()) == {"paused"}
    app.run("unpause", "db")
    assert states(app) == {f"{n}-db-1": "running", f"{n}-web-1": "paused"}
    app.run("unpause")

    killed = app.run("kill", "-s", "KILL", "web")
    assert f" Container {n}-web-1  Killed" in killed.stderr
    deadline = time.monotonic() + 30
    while states(app)[f"{n}-web-1"] != "exited" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert states(app) == {f"{n}-db-1": "running", f"{n}-web-1": "exited"}
    assert app.run("ps", "--status", "exited", "--format", "{{.Name}} {{.Service}}").stdout == f"{n}-web-1 web\n"
    assert app.run("ps", "--filter", "status=running", "--services").stdout == "db\n"
    bad = app.run("ps", "--status", "sleeping", check=False)
    assert bad.returncode == 1 and "invalid status 'sleeping'" in bad.stderr

    removed = app.run("rm", "-f")
    assert f" Container {n}-web-1  Removed" in removed.stderr
    assert list(states(app)) == [f"{n}-db-1"]  # rm leaves running containers alone
    app.run("rm", "-f", "-s")
    assert states(app) == {}
    assert "No stopped containers" in app.run("rm", "-f").stderr
    unknown = app.run("stop", "nope", check=False)
    assert unknown.returncode == 1 and unknown.stderr.strip() == "no such service: nope"


def test_version_and_config(compose):
    app = compose(PAIR)
    assert app.run("version").stdout.startswith("Estiba Compose version v2.")
    assert json.loads(app.run("version", "--format", "json").stdout)["version"].startswith("v2.")
    assert app.run("config", "--services").stdout.split() == ["db", "web"]
    rendered = json.loads(app.run("config", "--format", "json").stdout)
    assert rendered["services"]["web"]["depends_on"]["db"]["condition"] == "service_started"
    assert app.run("config", "-q").stdout == ""
    hashes = dict(line.split() for line in app.run("config", "--hash", "*").stdout.splitlines())
    assert set(hashes) == {"db", "web"} and all(len(h) == 64 for h in hashes.values())


def test_attached_up_returns_the_exit_code_with_abort_on_container_exit(compose):
    app = compose(f"""
        services:
          job:
            image: busybox
            command: sh -c 'sleep 1; echo job done; exit 3'
          server:
            image: busybox
            command: {SERVE}
    """)
    result = app.run("up", "--abort-on-container-exit", "--no-color", check=False)
    assert result.returncode == 3, result.stderr
    assert re.search(r"^job-1 +\| job done$", result.stdout, re.M), result.stdout
    assert "job-1 exited with code 3" in result.stdout
    assert "Aborting on container exit..." in result.stdout
    assert f" Container {app.name}-server-1  Stopped" in result.stderr
    assert states(app) == {f"{app.name}-job-1": "exited", f"{app.name}-server-1": "exited"}


def test_exit_code_from_names_the_service(compose):
    app = compose("""
        services:
          job:
            image: busybox
            command: sh -c 'echo from job; exit 4'
          other:
            image: busybox
            command: sh -c 'sleep 1; exit 0'
    """)
    result = app.run("up", "--exit-code-from", "job", "--no-color", check=False)
    assert result.returncode == 4, result.stderr
    assert re.search(r"^job-1 +\| from job$", result.stdout, re.M), result.stdout


def test_ctrl_c_stops_the_attached_project(compose):
    app = compose(PAIR)
    process = app.popen("up", "--no-color")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and set(states(app).values()) != {"running"} or len(states(app)) < 2:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert "Gracefully stopping... (press Ctrl+C again to force)" in err
    assert set(states(app).values()) == {"exited"}


def test_up_wait_waits_for_healthy_and_names_a_failing_container(compose):
    app = compose("""
        services:
          web:
            image: busybox
            command: sh -c 'trap "exit 0" TERM; (sleep 1; touch /tmp/up) & sleep 300 & wait'
            healthcheck:
              test: ["CMD", "test", "-f", "/tmp/up"]
              interval: 300ms
              retries: 30
    """)
    up = app.run("up", "--wait")
    n = app.name
    assert up.stderr.index(f" Container {n}-web-1  Waiting") < up.stderr.index(f" Container {n}-web-1  Healthy")
    assert app.client().get(f"/containers/{n}-web-1/json")["State"]["Health"]["Status"] == "healthy"

    app.write(f"""
        services:
          web:
            image: busybox
            command: {SERVE}
          broken:
            image: busybox
            command: sh -c 'sleep 0.5; exit 2'
            healthcheck:  # never gets to run: the container exits first
              test: ["CMD", "true"]
              interval: 30s
    """)
    failed = app.run("up", "--wait", "--wait-timeout", "60", check=False)
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1] == f"container {n}-broken-1 exited (2)"


def test_create_then_start(compose):
    app = compose(PAIR)
    created = app.run("create")
    assert f" Container {app.name}-web-1  Created" in created.stderr
    assert set(states(app).values()) == {"created"}
    app.run("start")
    assert set(states(app).values()) == {"running"}


def test_attached_up_pads_prefixes_to_the_longest_name_from_the_start(compose):
    app = compose("""
        services:
          init:
            image: busybox
            command: echo init done
          application:
            image: busybox
            command: echo app done
            depends_on:
              init: {condition: service_completed_successfully}
    """)
    result = app.run("up", "--no-color")
    # init-1 printed before application-1 existed, already padded to its name.
    assert "init-1         | init done\n" in result.stdout, result.stdout
    assert "application-1  | app done\n" in result.stdout, result.stdout
    assert "init-1 exited with code 0" in result.stdout


def test_attached_up_follows_a_container_its_restart_policy_starts_again(compose):
    # Each run's log stream ends when it exits; compose reports the exit and follows the
    # restarted container, however fast the restart policy brings it back.
    app = compose("""
        services:
          flappy:
            image: busybox
            restart: always
            command: sh -c 'n=$$(cat /n 2>/dev/null || echo 0); n=$$((n + 1)); echo $$n > /n; echo run $$n; exit 3'
    """)
    process = app.popen("up", "--no-color")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None
            document = json.loads(app.run("ps", "-a", "--format", "json").stdout or "[]")
            if document and app.client().get(f"/containers/{document[0]['ID']}/json")["RestartCount"] >= 3:
                break
            time.sleep(0.2)
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    runs = re.findall(r"^flappy-1 +\| run \d+$", out, re.M)
    exits = re.findall(r"^flappy-1 exited with code 3$", out, re.M)
    assert len(runs) >= 3 and len(exits) >= 3, out
    assert runs == [f"flappy-1  | run {n}" for n in range(1, len(runs) + 1)], "each run once, in order"
