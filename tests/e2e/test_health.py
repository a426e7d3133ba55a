"""Health checks through the real docker CLI: `docker run --health-*`, the status in
`docker inspect --format` and `docker ps`, and ps's health filter."""

from __future__ import annotations

import time

from tests.integration.daemon.conftest import Estibad


def _health(engine: Estibad, name: str) -> str:
    return engine.docker("inspect", "--format", "{{.State.Health.Status}}", name).stdout.decode().strip()


def test_docker_run_with_a_health_cmd_turns_healthy(engine: Estibad) -> None:
    engine.docker("run", "-d", "--name", "e2e-health", "--health-cmd", "echo fine",
                  "--health-interval", "200ms", "--health-retries", "2", "busybox", "sleep", "60")
    try:
        deadline = time.monotonic() + 30
        while (status := _health(engine, "e2e-health")) != "healthy":
            assert status == "starting"
            assert time.monotonic() < deadline, "not healthy in 30s"
            time.sleep(0.1)
        line = engine.docker("ps", "--filter", "name=e2e-health", "--format", "{{.Status}}").stdout.decode()
        assert line.startswith("Up ") and line.strip().endswith("(healthy)")
        listed = engine.docker("ps", "--filter", "health=healthy", "--format", "{{.Names}}").stdout.decode()
        assert "e2e-health" in listed.split()
        output = engine.docker("inspect", "--format", "{{(index .State.Health.Log 0).Output}}",
                               "e2e-health").stdout.decode()
        assert output == "fine\n\n"  # the probe's line, then the template's newline
    finally:
        engine.docker("rm", "-f", "e2e-health", check=False)
