"""A test estibad with busybox shared by each module, and `compose`: write a compose file
in the test's directory and drive `estiba compose` against that daemon.

    def test_x(compose):
        app = compose('''
            services:
              web: {image: busybox, command: sleep 300}
        ''')
        app.run("up", "-d")                      # CompletedProcess[str]; raises on failure
        app.run("up", "-d", env={"TAG": "x"})    # extra environment variables
        result = app.run("ps", check=False)      # keeps the exit code
        app.objects()                            # the engine's names: containers, networks, volumes

Each test gets a project name of its own (from the test's name); whatever it leaves is
removed at teardown with `down -v --remove-orphans -t 0`.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.daemon.conftest import BIN, Estibad, busybox, daemon  # noqa: F401


@dataclass
class Objects:
    containers: set[str]
    networks: set[str]
    volumes: set[str]


class ComposeApp:
    """One project directory with its compose file, driven through the estiba CLI."""

    def __init__(self, daemon: Estibad, directory: Path, name: str) -> None:
        self.daemon = daemon
        self.directory = directory
        self.name = name
        self.file = directory / "compose.yaml"

    def write(self, text: str, filename: str = "compose.yaml") -> Path:
        path = self.directory / filename
        path.write_text(textwrap.dedent(text))
        return path

    def argv(self, *args: str) -> list[str]:
        return [
            str(BIN / "estiba"), "-H", self.daemon.url,
            "compose", "-p", self.name, "--project-directory", str(self.directory),
            "-f", str(self.file), *args,
        ]  # fmt: skip

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 120,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """`env` adds variables (interpolation, COMPOSE_*) to the daemon's environment."""
        result = subprocess.run(
            self.argv(*args),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env={**self.env(), **(env or {})},
            cwd=self.directory,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"estiba compose {' '.join(args)} exited {result.returncode}:\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """`estiba compose ARGS` in the background (attached `up`), output piped."""
        return subprocess.Popen(
            self.argv(*args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(),
            cwd=self.directory,
        )

    def env(self) -> dict[str, str]:
        env = {**self.daemon.env, "ESTIBA_HOST": self.daemon.url}
        env.pop("COMPOSE_PROJECT_NAME", None)
        env.pop("COMPOSE_FILE", None)
        return env

    def client(self):  # type: ignore[no-untyped-def]
        from estiba.cli.client import Client

        return Client(self.daemon.url)

    def containers(self, *, all: bool = True) -> dict[str, dict]:
        """The project's containers by name, as GET /containers/json lists them."""
        import json

        found = self.client().get(
            "/containers/json",
            all=all,
            filters=json.dumps({"label": [f"com.docker.compose.project={self.name}"]}),
        )
        return {c["Names"][0].lstrip("/"): c for c in found}

    def objects(self) -> Objects:
        """Everything the daemon has (not only this project's): compare before and after."""
        client = self.client()
        return Objects(
            containers={c["Names"][0].lstrip("/") for c in client.get("/containers/json", all=True)},
            networks={n["Name"] for n in client.get("/networks")},
            volumes={v["Name"] for v in client.get("/volumes").get("Volumes") or []},
        )


def _project_name(node_name: str) -> str:
    name = re.sub(r"[^a-z0-9_-]", "", node_name.lower().replace("[", "-"))
    return name.removeprefix("test_")[:40].strip("-_") or "app"


@pytest.fixture
def compose(busybox: Estibad, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., ComposeApp]]:  # noqa: F811
    """compose(yaml_text, name=None) -> ComposeApp with the file written."""
    made: list[ComposeApp] = []

    def make(text: str | None = None, name: str | None = None) -> ComposeApp:
        directory = tmp_path / f"project{len(made)}"
        directory.mkdir()
        app = ComposeApp(busybox, directory, name or _project_name(request.node.name) + (f"{len(made)}" if made else ""))
        if text is not None:
            app.write(text)
        made.append(app)
        return app

    yield make
    for app in made:
        if app.file.exists():
            try:
                app.run("down", "-v", "--remove-orphans", "-t", "0", check=False, timeout=120)
            except subprocess.TimeoutExpired:
                pass
