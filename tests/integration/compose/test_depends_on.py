"""depends_on: dependencies start first; a service waits for service_healthy and
service_completed_successfully, and a failing dependency fails `up` naming it."""

from __future__ import annotations

from tests.integration.compose.services import SERVE


def events(app) -> list[dict]:
    """The project's container events so far (GET /events up to now)."""
    import json
    import time

    from estiba.cli.client import iter_json

    response = app.client().open("GET", "/events", {
        "since": "0", "until": f"{time.time():.3f}",
        "filters": json.dumps({"type": ["container"], "label": [f"com.docker.compose.project={app.name}"]}),
    })  # fmt: skip
    return list(iter_json(response))


def test_service_started_starts_dependencies_first(compose):
    app = compose(f"""
        services:
          front:
            image: busybox
            command: {SERVE}
            depends_on: [back]
          back:
            image: busybox
            command: {SERVE}
            depends_on:
              store: {{condition: service_started}}
          store:
            image: busybox
            command: {SERVE}
    """)
    up = app.run("up", "-d", "front").stderr
    n = app.name
    assert up.index(f"{n}-store-1  Started") < up.index(f"{n}-back-1  Starting")
    assert up.index(f"{n}-back-1  Started") < up.index(f"{n}-front-1  Starting")
    started = {c["State"] for c in app.containers().values()}
    assert len(app.containers()) == 3 and started == {"running"}

    solo = compose(app.file.read_text(), name=f"{n}solo")
    solo.run("up", "-d", "--no-deps", "front")
    assert list(solo.containers()) == [f"{n}solo-front-1"]


def test_service_completed_successfully_waits_for_the_one_shot(compose):
    app = compose("""
        services:
          web:
            image: busybox
            command: sh -c 'test -f /shared/ready || exit 9; trap "exit 0" TERM; sleep 300 & wait'
            volumes: [shared:/shared]
            depends_on:
              init: {condition: service_completed_successfully}
          init:
            image: busybox
            command: sh -c 'sleep 1; touch /shared/ready'
            volumes: [shared:/shared]
        volumes:
          shared: {}
    """)
    up = app.run("up", "-d").stderr
    n = app.name
    assert f" Container {n}-init-1  Waiting" in up
    assert up.index(f" Container {n}-init-1  Exited") < up.index(f"{n}-web-1  Starting")
    states = {name: c["State"] for name, c in app.containers().items()}
    assert states == {f"{n}-init-1": "exited", f"{n}-web-1": "running"}


def test_a_failing_dependency_fails_up_naming_it(compose):
    app = compose(f"""
        services:
          web:
            image: busybox
            command: {SERVE}
            depends_on:
              migrate: {{condition: service_completed_successfully}}
          migrate:
            image: busybox
            command: sh -c 'exit 3'
    """)
    result = app.run("up", "-d", check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "service \"migrate\" didn't complete successfully: exit 3"
    assert app.containers()[f"{app.name}-web-1"]["State"] == "created"


def test_an_optional_dependency_that_fails_is_a_warning(compose):
    app = compose(f"""
        services:
          web:
            image: busybox
            command: {SERVE}
            depends_on:
              migrate: {{condition: service_completed_successfully, required: false}}
          migrate:
            image: busybox
            command: sh -c 'exit 3'
    """)
    result = app.run("up", "-d")
    assert "WARN" in result.stderr and "migrate" in result.stderr
    assert app.containers()[f"{app.name}-web-1"]["State"] == "running"


def test_service_healthy_holds_the_dependent_until_healthy(compose):
    app = compose(f"""
        services:
          web:
            image: busybox
            command: {SERVE}
            depends_on:
              db: {{condition: service_healthy}}
          db:
            image: busybox
            command: sh -c 'trap "exit 0" TERM; (sleep 2; touch /tmp/up) & sleep 300 & wait'
            healthcheck:
              test: ["CMD", "test", "-f", "/tmp/up"]
              interval: 500ms
              timeout: 2s
              retries: 20
    """)
    up = app.run("up", "-d").stderr
    n = app.name
    assert up.index(f" Container {n}-db-1  Healthy") < up.index(f"{n}-web-1  Starting")
    healthy = [e for e in events(app) if e.get("status") == "health_status: healthy"]
    started = [e for e in events(app) if e.get("status") == "start"]
    db_healthy = min(e["timeNano"] for e in healthy if e["Actor"]["Attributes"]["name"] == f"{n}-db-1")
    web_started = min(e["timeNano"] for e in started if e["Actor"]["Attributes"]["name"] == f"{n}-web-1")
    assert db_healthy < web_started
    db = app.client().get(f"/containers/{n}-db-1/json")
    web = app.client().get(f"/containers/{n}-web-1/json")
    assert db["State"]["Health"]["Status"] == "healthy"
    assert web["State"]["StartedAt"] > db["State"]["StartedAt"]


def test_an_unhealthy_dependency_fails_up(compose):
    app = compose(f"""
        services:
          web:
            image: busybox
            command: {SERVE}
            depends_on:
              db: {{condition: service_healthy}}
          db:
            image: busybox
            command: {SERVE}
            healthcheck:
              test: ["CMD", "false"]
              interval: 300ms
              timeout: 1s
              retries: 2
    """)
    result = app.run("up", "-d", check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"dependency failed to start: container {app.name}-db-1 is unhealthy"
    assert app.containers()[f"{app.name}-web-1"]["State"] == "created"
