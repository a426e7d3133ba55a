"""estibad's life: a bad config refused in one line, SIGTERM, and state across restarts."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Callable

from estiba.engine.store import ContainerRecord, ContainerStore
from tests.integration.daemon.conftest import Estibad


def test_bad_daemon_json_is_one_line_and_exit_1(make_daemon: Callable[[], Estibad]) -> None:
    daemon = make_daemon()
    for bad in ("{not json", '{"data-rot": "/x"}'):
        daemon.config_file.write_text(bad)
        result = subprocess.run(daemon.argv(), capture_output=True, text=True, timeout=30)
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("estibad: ")
        assert not daemon.socket.exists()


def test_sigterm_removes_the_socket_and_exits_0(make_daemon: Callable[[], Estibad]) -> None:
    daemon = make_daemon()
    daemon.start()
    assert stat.S_IMODE(daemon.socket.stat().st_mode) == 0o660
    assert daemon.docker("version").returncode == 0
    assert daemon.terminate() == 0
    assert not daemon.socket.exists()


def test_images_survive_a_restart(make_daemon: Callable[[], Estibad]) -> None:
    daemon = make_daemon()
    daemon.start()
    image_id = daemon.estiba("image", "bootstrap", "busybox").stdout.decode().split()[-1]
    daemon.docker("tag", "busybox", "kept:1")
    info_id = daemon.docker("info", "--format", "{{.ID}}").stdout.decode().strip()
    assert daemon.terminate() == 0
    daemon.start()
    listed = daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
    rows = set(listed.stdout.decode().split("\n"))
    assert f"busybox:latest {image_id[7:19]}" in rows
    assert f"kept:1 {image_id[7:19]}" in rows
    assert daemon.docker("info", "--format", "{{.ID}}").stdout.decode().strip() == info_id
    assert daemon.terminate() == 0


def test_rmi_refused_while_a_stored_container_uses_the_image(
    make_daemon: Callable[[], Estibad],
) -> None:
    daemon = make_daemon()
    daemon.start()
    image_id = daemon.estiba("image", "bootstrap", "busybox").stdout.decode().split()[-1]
    assert daemon.terminate() == 0
    containers = ContainerStore(daemon.data_root / "containers.db")
    record = ContainerRecord(
        id="a" * 64, name="web", image_id=image_id, image_ref="busybox", created="2024-01-01T00:00Z"
    )
    containers.add(record)
    containers.close()
    daemon.start()
    refused = daemon.docker("rmi", "busybox", check=False)
    assert refused.returncode == 1
    assert b"aaaaaaaaaaaa" in refused.stderr, refused.stderr
    assert daemon.docker("info", "--format", "{{.Containers}}").stdout.strip() == b"1"
    assert daemon.terminate() == 0


def test_rmi_removes_the_unpacked_layers_only_that_image_used(make_daemon: Callable[[], Estibad]) -> None:
    """A removed image's layers leave the disk with it; layers another image or a
    container still sits on stay."""
    daemon = make_daemon()
    daemon.start()
    daemon.estiba("image", "bootstrap", "busybox")
    snapshots = daemon.data_root / "snapshots"

    def layer_files() -> set[str]:
        return {str(p.relative_to(snapshots)) for p in snapshots.rglob("big.bin")}

    daemon.docker("run", "--name", "maker", "busybox", "sh", "-c", "head -c 2000000 /dev/urandom > /big.bin")
    daemon.docker("commit", "maker", "withbig:1")
    daemon.docker("rm", "maker")
    before = layer_files()
    daemon.docker("run", "--rm", "withbig:1", "true")  # unpacks the committed layer
    unpacked = layer_files() - before
    assert unpacked, "the committed layer was not unpacked"
    daemon.docker("tag", "withbig:1", "withbig:2")
    daemon.docker("rmi", "withbig:1")  # only a tag goes
    assert layer_files() >= unpacked
    daemon.docker("create", "--name", "holder", "withbig:2", "true")
    assert daemon.docker("rmi", "withbig:2", check=False).returncode != 0  # in use
    daemon.docker("rm", "holder")
    daemon.docker("rmi", "withbig:2")
    assert not (layer_files() & unpacked)
    assert daemon.docker("run", "--rm", "busybox", "true").returncode == 0  # busybox's layer stays
    assert daemon.terminate() == 0
