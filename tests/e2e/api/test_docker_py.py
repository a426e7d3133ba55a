"""docker-py against the API served from the fakes: what Python programs see."""

from __future__ import annotations

import socket
import time

import pytest

docker = pytest.importorskip("docker")

from estiba.api.streams import read_frames  # noqa: E402
from estiba.api.types import StreamKind  # noqa: E402


@pytest.fixture
def client(served):
    client = docker.DockerClient(base_url=served.url, version="auto", timeout=10)
    yield client
    client.close()


def test_ping_version_info(client):
    assert client.ping() is True
    assert client.version()["ApiVersion"] == "1.41"
    assert client.info()["ServerVersion"] == "0.1.0-fake"


def test_containers_run_list_logs_exec_wait_stop_remove(client, served):
    container = client.containers.run("busybox", ["sleep", "100"], detach=True, name="py-web")
    assert [c.name for c in client.containers.list()] == ["py-web"]
    assert client.containers.get("py-web").status == "running"

    result = container.exec_run(["sh", "-c", "echo out; echo err >&2; exit 2"], demux=True)
    assert result.exit_code == 2 and result.output == (b"out\n", b"err\n")

    container.stop(timeout=1)
    assert container.wait()["StatusCode"] == 143
    container.remove()
    assert client.containers.list(all=True) == []
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("py-web")


def test_containers_run_attached_returns_the_output(client):
    assert client.containers.run("busybox", ["echo", "attached"]) == b"attached\n"
    with pytest.raises(docker.errors.ContainerError) as failure:
        client.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 4"])
    assert failure.value.exit_status == 4


def test_logs_stream(client, served):
    container = client.containers.run(
        "busybox", ["cat"], detach=True, stdin_open=True, name="py-cat"
    )
    stream = container.logs(stream=True, follow=True)
    served.call(lambda: served.engine.find("py-cat").process.feed_stdin(b"line one\n"))
    assert next(stream) == b"line one\n"
    served.call(lambda: served.engine.find("py-cat").process.close_stdin())
    assert list(stream) == []


def test_attach_socket_carries_stdin_and_frames(client, served):
    container = client.containers.create("busybox", ["cat"], stdin_open=True, name="py-att")
    sock = client.api.attach_socket(container.id, params={"stdin": 1, "stdout": 1, "stream": 1})
    raw = sock._sock  # docker-py hands out the socket's file object
    container.start()
    raw.sendall(b"ping\n")
    received = b""
    deadline = time.monotonic() + 5
    while len(received) < 8 + 5 and time.monotonic() < deadline:
        received += raw.recv(4096)
    assert list(read_frames(received)) == [(StreamKind.STDOUT, b"ping\n")]
    raw.shutdown(socket.SHUT_WR)
    assert raw.recv(4096) == b""  # the process ended at EOF, and so did the stream
    sock.close()
    raw.close()
    assert container.wait()["StatusCode"] == 0


def test_events_decode(client):
    since = time.time()
    client.containers.create("busybox", name="py-ev")
    events = list(client.events(since=since, until=time.time() + 0.01, decode=True))
    assert [(e["Type"], e["Action"], e["Actor"]["Attributes"]["name"]) for e in events] == [
        ("container", "create", "py-ev")
    ]


def test_images_list_save_load_and_errors(client, served):
    assert [i.tags for i in client.images.list()] == [["busybox:latest"]]
    data = b"".join(client.images.get("busybox").save())
    loaded = client.images.load(data)
    assert [i.tags for i in loaded] == [["busybox:latest"]]
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("nope")
    served.engine.images_in_use.add("busybox:latest")
    with pytest.raises(docker.errors.APIError) as conflict:
        client.images.remove("busybox")
    assert conflict.value.status_code == 409
