"""`estiba compose up --wait` replaces a changed service without downtime (beyond compose:
docker/compose#1786): a client requesting the published port in a loop throughout sees
no failed request, and when the new version never gets healthy the old one keeps serving."""

from __future__ import annotations

import time

import pytest

from tests.integration.network.conftest import Hammer, fetch, free_port

pytestmark = pytest.mark.timeout(240)

WEB = """
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo $$VERSION > /www/index.html && exec httpd -f -p 80 -h /www"]
    environment:
      VERSION: ${VERSION}
    ports: ["${PORT}:80"]
    stop_grace_period: 2s
    healthcheck:
      test: ["CMD-SHELL", "${CHECK}"]
      interval: 300ms
      timeout: 3s
      retries: 2
"""

PASSING = "timeout 2 wget -q -O- http://127.0.0.1/ >/dev/null"


def version(app, port: int, text: str, check: str = PASSING) -> None:  # type: ignore[no-untyped-def]
    """The project's .env (so that the teardown's `down` reads the same file)."""
    app.write(f"VERSION={text}\nPORT={port}\nCHECK='{check}'\n", ".env")


def first_up(app, port: int) -> dict:  # type: ignore[no-untyped-def]
    version(app, port, "v1")
    app.run("up", "-d", "--wait")
    assert fetch("127.0.0.1", port).strip().splitlines()[-1] == "v1"
    return app.containers()[f"{app.name}-web-1"]


def test_up_wait_replaces_a_changed_service_with_no_failed_request(compose):
    app = compose(WEB)
    before = app.objects()
    port = free_port()
    old = first_up(app, port)
    hammer = Hammer(port)
    hammer.start()
    try:
        time.sleep(0.3)
        version(app, port, "v2")
        result = app.run("up", "-d", "--wait")
    finally:
        hammer.finish()
    name = f"{app.name}-web-1"
    for step in ("Recreate", "Waiting", "Healthy", "Switched", "Recreated"):
        assert f" Container {name}  {step}\n" in result.stderr, result.stderr
    assert hammer.failures == []
    assert hammer.answers[0] == "v1" and hammer.answers[-1] == "v2"
    switched = hammer.answers.index("v2")  # once switched, never back
    assert set(hammer.answers[:switched]) == {"v1"} and set(hammer.answers[switched:]) == {"v2"}
    containers = app.containers()
    assert list(containers) == [name]  # the old one gone, the new one under the canonical name
    new = containers[name]
    assert new["Id"] != old["Id"] and new["State"] == "running"
    assert {(p["PrivatePort"], p.get("PublicPort")) for p in new["Ports"]} >= {(80, port)}
    assert app.run("port", "web", "80").stdout.strip().endswith(f":{port}")
    app.run("down", "-t", "0")
    assert app.objects() == before


def test_a_new_version_that_never_gets_healthy_leaves_the_old_one_serving(compose):
    app = compose(WEB)
    port = free_port()
    old = first_up(app, port)
    hammer = Hammer(port)
    hammer.start()
    try:
        version(app, port, "v2", "exit 1")
        result = app.run("up", "-d", "--wait", check=False)
    finally:
        hammer.finish()
    name = f"{app.name}-web-1"
    assert result.returncode != 0
    assert f"container {name} was not replaced: the new container is unhealthy" in result.stderr
    assert "the old container keeps serving" in result.stderr
    assert hammer.failures == [] and set(hammer.answers) == {"v1"}
    containers = app.containers()
    assert list(containers) == [name]  # no leftover: the new one removed, the old one renamed back
    assert containers[name]["Id"] == old["Id"] and containers[name]["State"] == "running"
    assert fetch("127.0.0.1", port).strip().splitlines()[-1] == "v1"
    # The old one keeps its port: a later good version replaces it as usual.
    version(app, port, "v3")
    app.run("up", "-d", "--wait")
    assert fetch("127.0.0.1", port).strip().splitlines()[-1] == "v3"
