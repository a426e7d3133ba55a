"""`estiba compose build`, `images` and `pull` against a real daemon."""

from __future__ import annotations

import json

from tests.integration.distribution.conftest import registry  # noqa: F401 - the fixture

FILE = """
services:
  app:
    build:
      context: ./app
      args:
        MESSAGE: from-args
    command: ["sleep", "300"]
  side:
    image: busybox
    command: ["sleep", "300"]
"""

DOCKERFILE = """
FROM busybox
ARG MESSAGE
RUN echo "built $MESSAGE" > /built
"""


def test_build_then_up_then_images(compose):
    app = compose(FILE)
    (app.directory / "app").mkdir()
    (app.directory / "app" / "Dockerfile").write_text(DOCKERFILE)
    built = app.run("build", "--build-arg", "MESSAGE=from-flag")
    assert "RUN echo" in built.stdout  # the builder's output
    assert " app  Built" in built.stderr
    image = app.client().get(f"/images/{app.name}-app/json")
    assert f"{app.name}-app:latest" in image["RepoTags"]

    app.run("up", "-d")
    cat = app.run("exec", "-T", "app", "cat", "/built")
    assert cat.stdout == "built from-flag\n"

    table = app.run("images").stdout.splitlines()
    assert table[0].split() == ["CONTAINER", "REPOSITORY", "TAG", "IMAGE", "ID", "SIZE"]
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert rows[f"{app.name}-app-1"][1:4] == [f"{app.name}-app", "latest",
                                             image["Id"].removeprefix("sha256:")[:12]]
    assert rows[f"{app.name}-side-1"][1:3] == ["busybox", "latest"]
    listed = json.loads(app.run("images", "--format", "json", "side").stdout)
    assert [entry["ContainerName"] for entry in listed] == [f"{app.name}-side-1"]
    quiet = app.run("images", "-q").stdout.split()
    assert image["Id"].removeprefix("sha256:")[:12] in quiet and len(quiet) == 2

    pulled = app.run("pull", "app")  # build-only: nothing to pull, no registry asked
    assert " app  Skipped - No image to be pulled" in pulled.stderr


def test_build_failure_is_reported(compose):
    app = compose("""
        services:
          broken:
            build: ./broken
    """)
    (app.directory / "broken").mkdir()
    (app.directory / "broken" / "Dockerfile").write_text("FROM busybox\nRUN exit 7\n")
    result = app.run("build", check=False)
    assert result.returncode != 0
    assert "failed to build service 'broken'" in result.stderr


def test_push_then_pull_through_a_local_registry(compose, registry):  # noqa: F811
    name = f"{registry.host}/compose/app:1"
    app = compose(f"""
        services:
          app:
            build: ./app
            image: {name}
          plain:
            image: busybox
    """)
    (app.directory / "app").mkdir()
    (app.directory / "app" / "Dockerfile").write_text(DOCKERFILE)
    app.run("build", "-q")
    client = app.client()
    built = client.get(f"/images/{name}/json")["Id"]
    pushed = app.run("push")
    assert " app  Pushed" in pushed.stderr
    assert "plain" not in pushed.stderr  # no build section: compose does not push it
    client.call("DELETE", f"/images/{name}")
    pulled = app.run("pull", "app")
    assert " app  Pulled" in pulled.stderr
    assert client.get(f"/images/{name}/json")["Id"] == built
