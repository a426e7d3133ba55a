"""The real docker-compose 1.29 (Debian's, a Python client on docker-py 5.0.3) drives
estibad through the seed book's WordPress example (tests/fixtures/compose/wordpress).

One project, one build, one up/down cycle with the checks in the order a user makes them:
what `ps`, `logs`, the web page, `exec`, `run`, `events`, `stop`/`start`, `kill`, `rm`, an
attached `up` and `down -v` show, and that `down -v` leaves no container, network, volume,
link, nftables rule, mount or process behind.

Needs root, /usr/bin/docker-compose and the docker CLI; skipped otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.helpers import Terminal, container_ids_ever, host_snapshot, wait_for_no_leaks
from tests.integration.daemon.conftest import Estibad

pytestmark = pytest.mark.timeout(600)

COMPOSE = shutil.which("docker-compose") or "/usr/bin/docker-compose"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "compose" / "wordpress"
IMAGES = ("estiba-fixture/wordpress-db:latest", "estiba-fixture/wordpress-web:latest")
WAIT = 60  # seconds; generous, the machine is shared


@dataclass
class Project:
    """The fixture's compose project on the session engine, under a name of its own and
    with the page published on a free port."""

    engine: Estibad
    name: str
    port: int

    @property
    def env(self) -> dict[str, str]:
        # compose's defaults whatever the caller's COMPOSE_* settings
        inherited = {k: v for k, v in self.engine.env.items() if not k.startswith("COMPOSE_")}
        return {**inherited, "WEB_PORT": str(self.port)}

    def argv(self, *args: str) -> list[str]:
        return [COMPOSE, "-p", self.name, "-f", str(FIXTURE / "compose.yaml"), *args]

    def __call__(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.argv(*args),
            cwd=FIXTURE,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker-compose {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def states(self) -> dict[str, str]:
        """`docker-compose ps` as {container name: its State column}."""
        table = self("ps").stdout.splitlines()
        assert table[0].split() == ["Name", "Command", "State", "Ports"], table
        states = {}
        for line in table[2:]:
            found = re.search(r"\s{2,}(Up|Exit -?\d+|Paused|Restarting)(\s{2,}|\s*$)", line)
            assert found, line
            states[line.split()[0]] = found.group(1)
        return states

    def rows(self) -> dict[str, str]:
        """`docker-compose ps` as {container name: its whole row}."""
        return {line.split()[0]: line for line in self("ps").stdout.splitlines()[2:]}

    def container(self, service: str) -> str:
        return f"{self.name}_{service}_1"

    def docker_names(self, *kind: str) -> list[str]:
        """Names the docker CLI lists for one kind of object of this project."""
        listed = self.engine.docker(*kind, "--format", "{{.Name}}" if kind[0] != "ps" else "{{.Names}}")
        return [name for name in listed.stdout.decode().split() if name.startswith(f"{self.name}_")]


def done(verb: str, name: str, output: str) -> bool:
    """Whether docker-compose's progress output says `<verb> <name> ... done` (names padded
    to the longest of the batch)."""
    return re.search(rf"^{verb} {re.escape(name)}\s+\.\.\. done$", output, re.MULTILINE) is not None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def page(port: int) -> str:
    """The WordPress stand-in's page once it reports the database reachable; its last
    answer (or error) in the failure otherwise."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
                last: object = response.read().decode()
            if "db reachable: yes" in str(last):
                return str(last)
        except OSError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"http://127.0.0.1:{port}/ did not show the database within {WAIT}s: {last!r}")
        time.sleep(0.2)


def refused(port: int) -> bool:
    """Whether a connection to the published port is refused, waited for."""
    deadline = time.monotonic() + WAIT
    while True:
        with socket.socket() as client:
            client.settimeout(5)
            try:
                client.connect(("127.0.0.1", port))
            except ConnectionRefusedError:
                return True
            except OSError:
                pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def wait_for_text(path: Path, text: str) -> str:
    deadline = time.monotonic() + WAIT
    while text not in (seen := path.read_text(errors="replace")):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} within {WAIT}s in:\n{seen}")
        time.sleep(0.2)
    return seen


def host_links() -> set[str]:
    listed = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True)
    return {line.split(":")[1].strip().split("@")[0] for line in listed.stdout.splitlines()}


def project_links(network_id: str, container_ids: Iterable[str]) -> set[str]:
    """The host-side links estibad makes for a network and its containers, by the names it
    gives them (estiba.network.manager): the bridge and one veth per container. Other
    daemons on the same host make links too; these are the project's only."""
    veths = {"ve" + hashlib.sha256(f"{network_id}{cid}".encode()).hexdigest()[:11] for cid in container_ids}
    return {f"br-{network_id[:12]}", *veths}


def nft_ruleset() -> str:
    return subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def project(engine: Estibad) -> Iterator[Project]:
    if not os.access(COMPOSE, os.X_OK):
        pytest.skip(f"docker-compose is not installed at {COMPOSE}: apt-get install docker-compose")
    made = Project(engine, f"wp{os.getpid()}", free_port())
    # What a first container makes once and keeps (the runtime's caches, the exec root's
    # directories, helper processes) is not the project's: made before the leak baseline.
    engine.docker("run", "--rm", "busybox", "true")
    try:
        yield made
    finally:
        made("down", "-v", "--remove-orphans", check=False)
        engine.docker("rmi", *IMAGES, check=False)


def test_config_resolves_the_seed_file(project: Project) -> None:
    resolved = project("config").stdout
    assert "version: '3.9'" in resolved  # read as the Compose Specification
    assert f"published: {project.port}" in resolved and "target: 80" in resolved
    assert str(FIXTURE / "db") in resolved  # build contexts made absolute
    assert project("config", "--services").stdout.split() == ["db", "wordpress"]
    assert project("config", "--volumes").stdout.split() == ["db_data"]


def test_build_tags_both_images(project: Project) -> None:
    # Through docker-py's POST /build, as docker-compose sends it itself (by default it
    # runs `docker build`, which `up --build` below exercises).
    built = project("build", env={"COMPOSE_DOCKER_CLI_BUILD": "0"})
    output = built.stdout + built.stderr
    for image in IMAGES:
        assert f"Successfully tagged {image}" in output, output
    listed = project.engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.decode()
    assert set(IMAGES) <= set(listed.split())


def test_the_wordpress_example_from_up_to_down(project: Project, tmp_path: Path) -> None:
    engine, db, web = project.engine, project.container("db"), project.container("wordpress")
    leaks_before = host_snapshot(engine)

    # up: a network, a volume, two containers named <project>_<service>_1
    up = project("up", "-d", "--build")
    assert f"Creating network \"{project.name}_default\" with the default driver" in up.stderr
    assert f"Creating volume \"{project.name}_db_data\" with default driver" in up.stderr
    assert done("Creating", db, up.stderr) and done("Creating", web, up.stderr)
    assert project.states() == {db: "Up", web: "Up"}
    assert f"0.0.0.0:{project.port}->80/tcp" in project.rows()[web]
    assert "3306/tcp" in project.rows()[db]
    assert sorted(project.docker_names("ps")) == [db, web]
    assert project("up", "-d").stderr.count("is up-to-date") == 2  # nothing changed
    assert project("port", "wordpress", "80").stdout == f"0.0.0.0:{project.port}\n"
    assert "httpd -f -p 80 -h /var/www" in project("top", "wordpress").stdout

    # the page reaches the database by its service name
    shown = page(project.port)
    assert "database: exampledb on db:3306 as exampleuser" in shown
    assert "db says: 5.7-estiba-standin database=exampledb owner=exampleuser" in shown
    logs = project("logs", "--no-color", "db").stdout
    assert "Initializing database exampledb in /var/lib/mysql" in logs
    assert "mysqld: ready for connections" in logs

    network = json.loads(engine.docker("network", "inspect", f"{project.name}_default").stdout)[0]
    bridge = f"br-{network['Id'][:12]}"
    running = engine.docker("ps", "-q", "--no-trunc", "--filter", f"label=com.docker.compose.project={project.name}")
    assert project_links(network["Id"], running.stdout.decode().split()) <= host_links()
    assert bridge in nft_ruleset()
    assert f"dport {project.port}" in nft_ruleset()

    # exec, through the docker CLI (compose's default) and through docker-py
    assert project("exec", "-T", "db", "cat", "/var/lib/mysql/exampledb/owner").stdout == "exampleuser\n"
    assert project("exec", "-T", "db", "sh", "-c", "exit 3", check=False).returncode == 3
    by_api = project("exec", "-T", "wordpress", "sh", "-c", "echo $WORDPRESS_DB_NAME; echo oops >&2; exit 4",
                     check=False, env={"COMPOSE_INTERACTIVE_NO_CLI": "1"})  # fmt: skip
    # dockerpty demultiplexes both streams of a tty-less exec onto its stdout
    assert (by_api.returncode, by_api.stdout) == (4, "exampledb\noops\n")

    # run --rm: a one-off container on the project's network, gone afterwards
    ran = project("run", "--rm", "-T", "wordpress", "sh", "-c", "nc -w 5 db 3306 </dev/null")
    assert ran.stdout == "5.7-estiba-standin database=exampledb owner=exampleuser\n"
    assert project("run", "--rm", "-T", "--no-deps", "db", "sh", "-c", "exit 5", check=False).returncode == 5
    # at a terminal, compose's default: a tty, typed input, the shell's exit code
    with Terminal(project.argv("run", "--rm", "wordpress", "sh"), env=project.env) as shell:
        shell.expect(b"# ", timeout=WAIT)
        shell.send("tty; nc -w 5 db 3306 </dev/null; exit 7")
        shell.expect(b"/dev/pts/", timeout=WAIT)
        shell.expect(b"5.7-estiba-standin database=exampledb", timeout=WAIT)
        assert shell.wait(WAIT) == 7
    assert sorted(project.docker_names("ps", "-a")) == [db, web]

    # a forced recreate: new containers (the old ones renamed, stopped, removed), same data
    old_ids = set(engine.docker("ps", "-q", "--no-trunc").stdout.decode().split())
    recreated = project("up", "-d", "--force-recreate")
    assert done("Recreating", db, recreated.stderr) and done("Recreating", web, recreated.stderr)
    assert project.states() == {db: "Up", web: "Up"}
    assert sorted(project.docker_names("ps", "-a")) == [db, web]
    assert not old_ids & set(engine.docker("ps", "-aq", "--no-trunc").stdout.decode().split())
    assert "Database exampledb already initialized" in project("logs", "--no-color", "db").stdout
    page(project.port)

    # restart, seen by `docker-compose events` as dockerd reports it
    events_file = tmp_path / "events.jsonl"
    with open(events_file, "w") as sink:
        watcher = subprocess.Popen(project.argv("events", "--json"), cwd=FIXTURE, env=project.env,
                                   stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + WAIT
        while '"action": "unpause"' not in events_file.read_text():  # subscribed by now
            assert time.monotonic() < deadline, events_file.read_text()
            project("pause", "db")
            project("unpause", "db")
        project("restart")
        deadline = time.monotonic() + WAIT
        while events_file.read_text().count('"action": "restart"') < 2:
            assert time.monotonic() < deadline, events_file.read_text()
            time.sleep(0.2)
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(30)
    for service in ("db", "wordpress"):
        actions = [
            event["action"]
            for event in map(json.loads, re.findall(r"^\{.*\}$", events_file.read_text(), re.MULTILINE))
            if event.get("service") == service and event["action"] in ("kill", "die", "stop", "start", "restart")
        ]
        assert actions[-5:] == ["kill", "die", "stop", "start", "restart"], (service, actions)
    assert project.states() == {db: "Up", web: "Up"}
    page(project.port)

    # stop: the services end on SIGTERM, the port closes; start: it answers again
    stopped = project("stop")
    assert done("Stopping", web, stopped.stderr) and done("Stopping", db, stopped.stderr)
    assert project.states() == {db: "Exit 0", web: "Exit 0"}
    assert refused(project.port)
    project("start")
    assert project.states() == {db: "Up", web: "Up"}
    page(project.port)
    assert "Database exampledb already initialized" in project("logs", "--no-color", "db").stdout

    # kill, then rm -f: no container left, the volume's data stays for the next up
    project("kill")
    assert project.states() == {db: "Exit 137", web: "Exit 137"}
    assert refused(project.port)
    project("rm", "-f")
    assert project.states() == {}
    assert project.docker_names("ps", "-a") == []

    # an attached `up`: logs of both containers, ctrl-c stops them
    output_file = tmp_path / "up.log"
    with open(output_file, "w") as sink:
        attached = subprocess.Popen(project.argv("up", "--no-color"), cwd=FIXTURE, env=project.env,
                                    stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_for_text(output_file, f"Attaching to {db}, {web}")
        wait_for_text(output_file, "Database exampledb already initialized")
        page(project.port)
        # the database's process ends: compose says so (when the log stream it follows
        # ends), and `restart: always` brings the database back
        # (The exec'd `kill` may itself be killed with the pid namespace it runs in when
        # PID 1 goes first, as with dockerd: exit 0 or 137, both fine.)
        killed = engine.docker("exec", db, "kill", "1", check=False)
        assert killed.returncode in (0, 137), killed.stderr
        wait_for_text(output_file, f"{db} exited with code 0")
        deadline = time.monotonic() + WAIT
        while json.loads(engine.docker("inspect", db).stdout)[0]["RestartCount"] < 1:
            assert time.monotonic() < deadline, "restart: always did not restart the database"
            time.sleep(0.2)
        page(project.port)
        attached.send_signal(signal.SIGINT)
        assert attached.wait(WAIT) == 0, output_file.read_text()
    finally:
        if attached.poll() is None:
            attached.kill()
            attached.wait()
    shown = output_file.read_text()
    assert "Gracefully stopping..." in shown and done("Stopping", db, shown), shown
    assert project.states() == {db: "Exit 0", web: "Exit 0"}

    # down -v: nothing of the project is left, on the engine or on the host
    down = project("down", "-v")
    assert f"Removing network {project.name}_default" in down.stderr
    assert f"Removing volume {project.name}_db_data" in down.stderr
    assert project.docker_names("ps", "-a") == []
    assert project.docker_names("network", "ls") == []
    assert project.docker_names("volume", "ls") == []
    assert project_links(network["Id"], container_ids_ever(engine)) & host_links() == set()
    ruleset = nft_ruleset()
    assert bridge not in ruleset and f"dport {project.port}" not in ruleset
    assert wait_for_no_leaks(engine, leaks_before) == {}
