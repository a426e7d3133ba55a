"""docker-py against a real estibad: what a Python program using the Docker SDK sees when
it runs containers, follows their logs, execs into them, moves images and watches events."""

from __future__ import annotations

import io
import queue
import tarfile
import threading
import time
from collections.abc import Iterator

import pytest

from tests.integration.daemon.conftest import Estibad

docker = pytest.importorskip("docker")

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def client(engine: Estibad) -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=engine.url, version="1.41", timeout=30)
    yield client
    for container in client.containers.list(all=True):
        container.remove(force=True)
    client.close()


def test_run_detached_then_wait_stop_remove(client: docker.DockerClient) -> None:
    container = client.containers.run(
        "busybox", ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"],
        detach=True, name="py-service",
    )  # fmt: skip
    assert len(container.id) == 64
    assert client.containers.get("py-service").status == "running"
    assert [c.name for c in client.containers.list()] == ["py-service"]

    container.stop(timeout=5)
    assert container.wait(timeout=10) == {"StatusCode": 0, "Error": None}
    container.reload()
    assert container.status == "exited" and container.attrs["State"]["ExitCode"] == 0

    container.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("py-service")


def test_run_attached_returns_the_output_and_raises_on_failure(client: docker.DockerClient) -> None:
    assert client.containers.run("busybox", ["echo", "Ola", "Mundo!"], remove=True) == b"Ola Mundo!\n"
    # docker-py reads the followed log only after it removed the container: again and
    # again, so that a follow that loses the last lines to the removal shows.
    assert [client.containers.run("busybox", ["echo", str(i)], remove=True) for i in range(10)] == [
        f"{i}\n".encode() for i in range(10)
    ]
    with pytest.raises(docker.errors.ContainerError) as failure:
        client.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 4"], remove=True)
    assert failure.value.exit_status == 4 and b"bad" in failure.value.stderr
    assert client.containers.list(all=True) == []


def test_wait_returns_the_status_code(client: docker.DockerClient) -> None:
    container = client.containers.run("busybox", ["sh", "-c", "sleep 0.3; exit 7"], detach=True)
    assert container.wait(timeout=10)["StatusCode"] == 7
    container.remove()


def test_logs_stream_yields_lines_as_they_come(client: docker.DockerClient) -> None:
    container = client.containers.run(
        "busybox", ["sh", "-c", "for i in 1 2 3 4; do echo line $i; sleep 0.5; done"], detach=True
    )
    arrivals: list[tuple[float, bytes]] = []
    for line in container.logs(stream=True, follow=True):
        arrivals.append((time.monotonic(), line))
    assert [line for _, line in arrivals] == [b"line 1\n", b"line 2\n", b"line 3\n", b"line 4\n"]
    # Streamed, not buffered until the end: the lines arrive about half a second apart.
    assert arrivals[-1][0] - arrivals[0][0] > 1.0
    assert container.wait(timeout=10)["StatusCode"] == 0
    assert container.logs() == b"line 1\nline 2\nline 3\nline 4\n"


def test_exec_run(client: docker.DockerClient) -> None:
    container = client.containers.run("busybox", ["sleep", "60"], detach=True)
    result = container.exec_run(["sh", "-c", "echo out; echo err >&2; exit 2"])
    assert result.exit_code == 2 and sorted(result.output.splitlines()) == [b"err", b"out"]
    demuxed = container.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
    assert demuxed.exit_code == 0 and demuxed.output == (b"out\n", b"err\n")
    assert container.exec_run(["cat", "/etc/hostname"]).output == f"{container.id[:12]}\n".encode()
    # Quick processes too: their output must not be lost with the response headers.
    assert [container.exec_run(["echo", str(i)]).output for i in range(10)] == [
        f"{i}\n".encode() for i in range(10)
    ]
    missing = container.exec_run(["nosuchbinary"])
    assert missing.exit_code == 126  # dockerd's code for an exec that could not start
    assert b'"nosuchbinary": executable file not found' in missing.output
    container.remove(force=True)


def test_images_list_save_and_load(client: docker.DockerClient) -> None:
    tags = {tag for image in client.images.list() for tag in image.tags}
    assert "busybox:latest" in tags
    busybox = client.images.get("busybox")
    assert busybox.tag("py-copy", "1")
    copy = client.images.get("py-copy:1")

    chunks = list(copy.save(chunk_size=64 * 1024, named="py-copy:1"))
    assert len(chunks) > 1
    archive = b"".join(chunks)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert "manifest.json" in tar.getnames()

    client.images.remove("py-copy:1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("py-copy:1")
    loaded = client.images.load(archive)
    assert [image.id for image in loaded] == [busybox.id]
    assert "py-copy:1" in client.images.get(busybox.id).tags
    client.images.remove("py-copy:1")


def test_events_see_a_containers_life(client: docker.DockerClient) -> None:
    since = int(time.time()) - 1
    seen: queue.Queue[dict] = queue.Queue()
    stream = client.events(decode=True, filters={"type": "container"})

    def follow() -> None:
        for event in stream:
            seen.put(event)

    threading.Thread(target=follow, daemon=True).start()
    time.sleep(0.3)  # let the stream subscribe before the container is made
    container = client.containers.create("busybox", ["true"], name="py-events")
    container.start()
    container.wait(timeout=10)
    container.remove()

    live = []
    deadline = time.monotonic() + 10
    while "destroy" not in live and time.monotonic() < deadline:
        try:
            event = seen.get(timeout=0.5)
        except queue.Empty:
            continue
        if event.get("id") == container.id:
            live.append(event["Action"])
    stream.close()
    assert [a for a in live if a in ("create", "start", "die", "destroy")] == [
        "create", "start", "die", "destroy",
    ]  # fmt: skip

    # The same events afterwards, from the daemon's history between two times.
    past = client.events(
        decode=True, since=since, until=int(time.time()) + 1, filters={"container": container.id}
    )
    actions = [event["Action"] for event in past]
    assert [a for a in actions if a in ("create", "start", "die", "destroy")] == [
        "create", "start", "die", "destroy",
    ]  # fmt: skip
    die = next(event for event in client.events(
        decode=True, since=since, until=int(time.time()) + 1,
        filters={"container": container.id, "event": "die"},
    ))  # fmt: skip
    assert die["Actor"]["Attributes"]["exitCode"] == "0"
    assert die["Actor"]["Attributes"]["name"] == "py-events"
