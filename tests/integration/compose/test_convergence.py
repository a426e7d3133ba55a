"""A second `up` converges: only what changed is recreated, scale moves the container
count, orphans are reported or removed."""

from __future__ import annotations

from tests.integration.compose.services import SERVE


def project(web_env: str = "one", extra: str = "") -> str:
    return f"""
services:
  web:
    image: busybox
    command: {SERVE}
    environment:
      VERSION: {web_env}
  api:
    image: busybox
    command: {SERVE}
  db:
    image: busybox
    command: {SERVE}
{extra}
"""


def ids(app) -> dict[str, str]:
    return {name: c["Id"] for name, c in app.containers().items()}


def test_changing_one_service_recreates_only_that_one(compose):
    app = compose(project("one"))
    app.run("up", "-d")
    first = ids(app)
    again = app.run("up", "-d")
    assert ids(app) == first
    assert again.stderr.count("  Running") == 3 and "Recreate" not in again.stderr

    app.write(project("two"))
    changed = app.run("up", "-d")
    second = ids(app)
    web = f"{app.name}-web-1"
    assert second[web] != first[web]
    assert {k: v for k, v in second.items() if k != web} == {k: v for k, v in first.items() if k != web}
    assert f" Container {web}  Recreate" in changed.stderr
    assert f" Container {web}  Recreated" in changed.stderr
    assert f" Container {app.name}-db-1  Running" in changed.stderr
    env = app.client().get(f"/containers/{second[web]}/json")["Config"]["Env"]
    assert "VERSION=two" in env
    assert {c["State"] for c in app.containers().values()} == {"running"}
    # No container left aside by the recreate (<id12>_<name>).
    assert sorted(app.containers()) == sorted(first)


def test_force_recreate_and_no_recreate(compose):
    app = compose(project("one"))
    app.run("up", "-d")
    first = ids(app)
    app.run("up", "-d", "--force-recreate")
    forced = ids(app)
    assert set(forced) == set(first) and all(forced[k] != first[k] for k in first)

    app.write(project("two"))
    app.run("up", "-d", "--no-recreate")
    assert ids(app) == forced
    both = app.run("up", "-d", "--force-recreate", "--no-recreate", check=False)
    assert both.returncode != 0 and "incompatible" in both.stderr


def test_scale_up_and_down(compose):
    app = compose(project())
    app.run("up", "-d", "--scale", "web=3")
    names = sorted(app.containers())
    assert [n for n in names if "-web-" in n] == [f"{app.name}-web-{i}" for i in (1, 2, 3)]
    kept = app.containers()[f"{app.name}-web-1"]["Id"]

    down = app.run("up", "-d", "--scale", "web=1")
    webs = {n: c for n, c in app.containers().items() if "-web-" in n}
    assert list(webs) == [f"{app.name}-web-1"] and webs[f"{app.name}-web-1"]["Id"] == kept
    assert down.stderr.index(f"{app.name}-web-3  Removed") >= 0

    bad = app.run("up", "-d", "--scale", "web=x", check=False)
    assert bad.returncode != 0 and "invalid --scale 'web=x'" in bad.stderr


def test_replicas_from_the_file(compose):
    app = compose(project(extra="""  worker:
    image: busybox
    command: sleep 300
    stop_grace_period: 1s
    deploy:
      replicas: 2
"""))
    app.run("up", "-d", "worker")
    assert sorted(app.containers()) == [f"{app.name}-worker-1", f"{app.name}-worker-2"]


def test_orphans_are_reported_then_removed(compose):
    app = compose(project())
    app.run("up", "-d")
    app.write(f"""
services:
  web:
    image: busybox
    command: {SERVE}
    environment:
      VERSION: one
""")
    warned = app.run("up", "-d")
    orphans = sorted([f"{app.name}-api-1", f"{app.name}-db-1"])
    assert "Found orphan containers (" in warned.stderr
    assert all(name in warned.stderr for name in orphans)
    assert "--remove-orphans" in warned.stderr
    assert set(orphans) <= set(app.containers())

    removed = app.run("up", "-d", "--remove-orphans")
    assert "Found orphan containers" not in removed.stderr
    assert f" Container {app.name}-api-1  Removed" in removed.stderr
    assert sorted(app.containers()) == [f"{app.name}-web-1"]
