"""Health checks with a real estibad: probes as execs in the container, State.Health as
dockerd keeps it, `ps` status and filter, events, pause, stop, daemon restart, and an
image's HEALTHCHECK turned off with --no-healthcheck.

Intervals are a few hundred milliseconds; every wait polls with a generous deadline.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.daemon.conftest import Estibad

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.timeout(180),
]

FAST = ("--health-interval", "200ms")


def until(predicate: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def inspect(daemon: Estibad, ref: str) -> dict:
    return json.loads(daemon.estiba("inspect", ref).stdout)[0]


def health(daemon: Estibad, ref: str) -> dict | None:
    return inspect(daemon, ref)["State"].get("Health")


def status(daemon: Estibad, ref: str) -> str | None:
    return (health(daemon, ref) or {}).get("Status")


def run(daemon: Estibad, *args: str) -> str:
    return daemon.estiba("run", "-d", *args).stdout.decode().strip()


def ps_names(daemon: Estibad, *filters: str) -> list[str]:
    argv = ["ps", "--format", "{{.Names}}"]
    for value in filters:
        argv += ["--filter", value]
    return daemon.estiba(*argv).stdout.decode().split()


def ps_status(daemon: Estibad, name: str) -> str:
    return daemon.estiba("ps", "--filter", f"name={name}", "--format", "{{.Status}}").stdout.decode().strip()


def probe_processes(marker: str) -> list[int]:
    """Host pids whose command line holds `marker` (a probe's unique sleep)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_passing_probe_makes_the_container_healthy(busybox: Estibad) -> None:
    cid = run(busybox, "--name", "hc-ok", "--health-cmd", "echo ok", *FAST, "busybox", "sleep", "60")
    until(lambda: status(busybox, cid) == "healthy")
    state = health(busybox, cid)
    assert state["FailingStreak"] == 0
    first = state["Log"][0]
    assert (first["ExitCode"], first["Output"]) == (0, "ok\n")
    assert first["Start"] <= first["End"] and first["End"].endswith("Z")
    document = inspect(busybox, cid)
    assert document["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "echo ok"], "Interval": 200_000_000}
    assert document["ExecIDs"] is None  # probes are no exec instances of the container
    assert ps_status(busybox, "hc-ok").endswith("(healthy)")
    assert ps_status(busybox, "hc-ok").startswith("Up ")
    plain = run(busybox, "--name", "hc-plain", "busybox", "sleep", "60")
    assert "State" in inspect(busybox, plain) and "Health" not in inspect(busybox, plain)["State"]
    assert "hc-ok" in ps_names(busybox, "health=healthy")
    assert "hc-ok" not in ps_names(busybox, "health=unhealthy")
    assert "hc-plain" in ps_names(busybox, "health=none")
    assert "hc-plain" not in ps_names(busybox, "health=healthy")
    bad = busybox.estiba("ps", "--filter", "health=sick", check=False)
    assert bad.returncode != 0
    assert "Unrecognised filter value for health: sick" in bad.stderr.decode()
    busybox.estiba("rm", "-f", "hc-ok", "hc-plain")


def test_failures_make_it_unhealthy_after_the_retries_and_the_log_keeps_five(busybox: Estibad) -> None:
    cid = run(busybox, "--name", "hc-bad", "--restart", "on-failure",
              "--health-cmd", "echo bad >&2; exit 3", "--health-retries", "2", *FAST,
              "busybox", "sleep", "60")
    until(lambda: status(busybox, cid) == "unhealthy")
    state = health(busybox, cid)
    assert state["FailingStreak"] >= 2
    assert all((r["ExitCode"], r["Output"]) == (3, "bad\n") for r in state["Log"])
    until(lambda: health(busybox, cid)["FailingStreak"] >= 7)
    state = health(busybox, cid)
    assert len(state["Log"]) == 5
    starts = [r["Start"] for r in state["Log"]]
    assert starts == sorted(starts)  # oldest first, the oldest dropped
    assert "(unhealthy)" in ps_status(busybox, "hc-bad")
    assert ps_names(busybox, "health=unhealthy") == ["hc-bad"]
    document = inspect(busybox, cid)  # dockerd never restarts an unhealthy container
    assert (document["State"]["Status"], document["RestartCount"]) == ("running", 0)
    busybox.estiba("rm", "-f", "hc-bad")


def test_failures_in_the_start_period_do_not_count_until_a_success(busybox: Estibad) -> None:
    cid = run(busybox, "--name", "hc-start", "--health-cmd", "test -e /tmp/ready",
              "--health-start-period", "60s", "--health-retries", "1", *FAST,
              "busybox", "sleep", "60")
    until(lambda: len(health(busybox, cid)["Log"]) >= 3)
    state = health(busybox, cid)
    assert (state["Status"], state["FailingStreak"]) == ("starting", 0)
    assert {r["ExitCode"] for r in state["Log"]} == {1}
    assert ps_status(busybox, "hc-start").endswith("(health: starting)")
    assert ps_names(busybox, "health=starting") == ["hc-start"]
    busybox.estiba("exec", cid, "touch", "/tmp/ready")
    until(lambda: status(busybox, cid) == "healthy")
    busybox.estiba("exec", cid, "rm", "/tmp/ready")  # the success ended the start period
    until(lambda: status(busybox, cid) == "unhealthy")
    assert health(busybox, cid)["FailingStreak"] >= 1  # counted: retries is 1
    busybox.estiba("rm", "-f", "hc-start")


def test_a_probe_past_its_timeout_is_killed_and_fails(busybox: Estibad) -> None:
    cid = run(busybox, "--name", "hc-slow", "--health-cmd", "echo started; sleep 4711",
              "--health-timeout", "1s", "--health-retries", "1", *FAST, "busybox", "sleep", "60")
    until(lambda: status(busybox, cid) == "unhealthy")
    result = health(busybox, cid)["Log"][0]
    assert result["ExitCode"] == -1
    assert result["Output"] == "Health check exceeded timeout (1s): started\n"
    busybox.estiba("stop", "-t", "1", cid)
    assert probe_processes("sleep 4711") == []
    busybox.estiba("rm", "hc-slow")


def test_probe_events_come_in_dockerds_order(busybox: Estibad) -> None:
    since = f"{time.time():.3f}"
    cid = run(busybox, "--name", "hc-events", "--health-cmd", "true", *FAST, "busybox", "sleep", "60")
    until(lambda: status(busybox, cid) == "healthy")
    until(lambda: len(health(busybox, cid)["Log"]) >= 2)
    actions = busybox.estiba(
        "events", "--since", since, "--until", f"{time.time():.3f}",
        "--filter", f"container={cid}", "--format", "{{.Action}}",
    ).stdout.decode().splitlines()
    assert actions[:6] == [
        "create", "start",
        "exec_create: /bin/sh -c true", "exec_start: /bin/sh -c true", "exec_die",
        "health_status: healthy",
    ]
    assert actions.count("health_status: healthy") == 1  # once per change of status
    only = busybox.estiba(
        "events", "--since", since, "--until", f"{time.time():.3f}",
        "--filter", f"container={cid}", "--filter", "event=health_status", "--format", "{{.Action}}",
    ).stdout.decode().splitlines()
    assert only == ["health_status: healthy"]
    busybox.estiba("rm", "-f", "hc-events")


def test_a_paused_container_is_not_probed(busybox: Estibad) -> None:
    cid = run(busybox, "--name", "hc-pause", "--health-cmd", "true", *FAST, "busybox", "sleep", "60")
    until(lambda: status(busybox, cid) == "healthy")
    busybox.estiba("pause", cid)
    log_at_pause = health(busybox, cid)["Log"]
    time.sleep(1.5)  # seven intervals
    assert health(busybox, cid)["Log"] == log_at_pause
    assert ps_status(busybox, "hc-pause").endswith("(Paused)")
    busybox.estiba("unpause", cid)
    until(lambda: health(busybox, cid)["Log"][-1]["Start"] > log_at_pause[-1]["Start"])
    assert status(busybox, cid) == "healthy"
    busybox.estiba("rm", "-f", "hc-pause")


def test_stop_ends_probing_and_nothing_piles_up(busybox: Estibad) -> None:
    cid = run(busybox, "--name", "hc-stop", "--health-cmd", "true", *FAST, "busybox", "sleep", "60")
    until(lambda: len(health(busybox, cid)["Log"]) >= 5)
    shim_dir = busybox.exec_root / "containers" / cid / "shim"
    assert len(list(shim_dir.glob("exec-*"))) <= 1  # at most the probe running now
    busybox.estiba("rm", "-f", "hc-stop")

    cid = run(busybox, "--name", "hc-stop", "--health-cmd", "sleep 9137", "--health-timeout", "60s",
              *FAST, "busybox", "sleep", "60")
    until(lambda: probe_processes("sleep 9137"))
    busybox.estiba("stop", "-t", "1", cid)
    assert probe_processes("sleep 9137") == []
    state = health(busybox, cid)  # the result of the probe cut short does not count
    assert (state["Status"], state["Log"]) == ("starting", [])
    events = busybox.estiba("events", "--since", "0", "--until", f"{time.time():.3f}",
                            "--filter", f"container={cid}", "--format", "{{.Action}}").stdout.decode()
    time.sleep(0.6)  # three intervals: no probe of a stopped container
    later = busybox.estiba("events", "--since", "0", "--until", f"{time.time():.3f}",
                           "--filter", f"container={cid}", "--format", "{{.Action}}").stdout.decode()
    assert later == events
    busybox.estiba("start", cid)  # a new start probes again, from starting
    until(lambda: probe_processes("sleep 9137"))
    assert status(busybox, cid) == "starting"
    busybox.estiba("rm", "-f", cid)
    until(lambda: not probe_processes("sleep 9137"), timeout=15)


def test_no_healthcheck_turns_off_the_images_check(busybox: Estibad, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nHEALTHCHECK --interval=200ms --retries=1 CMD echo from-image\n"
    )
    busybox.estiba("build", "-t", "hc-image", str(tmp_path))
    checked = run(busybox, "--name", "hc-img-on", "hc-image", "sleep", "60")
    until(lambda: status(busybox, checked) == "healthy")
    assert health(busybox, checked)["Log"][0]["Output"] == "from-image\n"
    assert inspect(busybox, checked)["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "echo from-image"]
    unchecked = run(busybox, "--name", "hc-img-off", "--no-healthcheck", "hc-image", "sleep", "60")
    time.sleep(0.6)
    document = inspect(busybox, unchecked)
    # dockerd's merge: the image's timings stay under the container's Test ["NONE"].
    assert document["Config"]["Healthcheck"] == {"Test": ["NONE"], "Interval": 200_000_000, "Retries": 1}
    assert "Health" not in document["State"]
    assert "hc-img-off" in ps_names(busybox, "health=none")
    conflict = busybox.estiba("run", "-d", "--no-healthcheck", "--health-cmd", "true", "hc-image", check=False)
    assert conflict.returncode != 0
    assert "--no-healthcheck conflicts with --health-* options" in conflict.stderr.decode()
    busybox.estiba("rm", "-f", "hc-img-on", "hc-img-off")
    busybox.estiba("rmi", "hc-image")


def test_health_survives_a_daemon_restart(make_daemon: Callable[[], Estibad]) -> None:
    from estiba.daemon.container_documents import parse_rfc3339_ns

    daemon = make_daemon()
    daemon.start()
    daemon.estiba("image", "bootstrap", "busybox")
    cid = run(daemon, "--name", "hc-live", "--health-cmd", "echo up", "--health-interval", "300ms",
              "busybox", "sleep", "120")
    until(lambda: len(health(daemon, cid)["Log"]) >= 2)
    assert daemon.terminate() == 0
    restarted = time.time()
    daemon.start()
    assert inspect(daemon, cid)["State"]["Status"] == "running"
    kept = health(daemon, cid)["Log"]
    assert len(kept) >= 2  # the results from before the restart are kept
    before = [r for r in kept if parse_rfc3339_ns(r["Start"]) / 1e9 < restarted]
    assert before
    # dockerd starts an adopted container's check over (starting), then probes it again.
    until(lambda: parse_rfc3339_ns(health(daemon, cid)["Log"][-1]["Start"]) / 1e9 > restarted)
    until(lambda: status(daemon, cid) == "healthy")
    assert before[-1] in health(daemon, cid)["Log"] or len(health(daemon, cid)["Log"]) == 5
    actions = daemon.estiba("events", "--since", f"{restarted:.3f}", "--until", f"{time.time():.3f}",
                            "--filter", f"container={cid}", "--format", "{{.Action}}").stdout.decode()
    assert "health_status: healthy" in actions.splitlines()
    daemon.estiba("rm", "-f", cid)
