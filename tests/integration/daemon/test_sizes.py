"""The sizes `ps -s`, `inspect --size` and `system df` report match `du` of the layers within
1% (issue 5), with the estiba CLI, the docker CLI and the API.

The rule, Docker's (moby's `directory.Size`): the apparent size of every non-directory
(files, symlinks, devices), each inode once however many hardlinks it has; directories
count nothing; a sparse file counts its apparent size. That is `du -sb` of the layer
directories, minus the directories' own sizes, which the test allows for within the 1%.

    SizeRw      the container's upper directory and the layers frozen by its snapshots
    SizeRootFs  SizeRw plus the image's layers
    image Size  the image's layers, unpacked
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.daemon.conftest import Estibad

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"), pytest.mark.timeout(240)]

# 20 MB in twenty files, a hardlink to one (counted once), a 5 MB sparse file (apparent).
WRITE = ("mkdir /data; i=0; while [ $i -lt 20 ]; do head -c 1000000 /dev/urandom > /data/f$i; i=$((i+1)); done;"
         " ln /data/f0 /data/hard; dd if=/dev/zero of=/data/sparse bs=1 count=1 seek=4999999 2>/dev/null")  # fmt: skip
UNITS = {"B": 1, "kB": 1000, "MB": 1000**2, "GB": 1000**3}


@pytest.fixture(scope="module")
def busybox(daemon: Estibad) -> Iterator[Estibad]:
    daemon.estiba("image", "bootstrap", "busybox")
    yield daemon


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=60)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)


def get(daemon: Estibad, path: str) -> object:
    connection = _Unix(daemon.socket)
    connection.request("GET", "/v1.41" + path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 200, body
    return json.loads(body)


def layer_dirs(daemon: Estibad, container_id: str) -> tuple[list[Path], list[Path]]:
    """(the container's own layer directories, its image's), read from the snapshotter's
    metadata as an outsider would: frozen layers carry the label estiba.frozen-layer."""
    root = daemon.data_root / "snapshots"
    with sqlite3.connect(f"file:{root / 'metadata.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT id, parent FROM snapshots WHERE name = ?", (container_id,)).fetchone()
        own, image = [row[0]], []
        parent = row[1]
        while parent is not None:
            labels, next_parent = db.execute("SELECT labels, parent FROM snapshots WHERE id = ?", (parent,)).fetchone()
            (own if "estiba.frozen-layer" in json.loads(labels) and not image else image).append(parent)
            parent = next_parent
    return [root / "snapshots" / str(i) / "fs" for i in own], [root / "snapshots" / str(i) / "fs" for i in image]


def du(directories: list[Path]) -> int:
    """`du -sb` of the directories together (an inode in two of them counts once), without
    the directories' own sizes (4096 bytes each on ext4), which Docker does not count."""
    result = subprocess.run(["find", *map(str, directories), "!", "-type", "d", "-printf", "%D:%i %s\n"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    sizes = dict(line.split() for line in result.stdout.splitlines())
    return sum(int(size) for size in sizes.values())


def du_sb(directories: list[Path]) -> int:
    result = subprocess.run(["du", "-sbc", *map(str, directories)], capture_output=True, text=True, check=True)
    return int(result.stdout.splitlines()[-1].split()[0])


def close(reported: float, measured: int) -> bool:
    return abs(reported - measured) <= 0.01 * measured


def human(text: str) -> float:
    """Docker's human sizes ("20.9MB") back to bytes."""
    match = re.fullmatch(r"([0-9.]+)\s*([kMG]?B)", text.strip())
    assert match, text
    return float(match.group(1)) * UNITS[match.group(2)]


def test_sizes_match_du_of_the_layers(busybox: Estibad) -> None:
    busybox.docker("run", "--name", "sized", "busybox", "sh", "-c", WRITE)
    try:
        # Part of the data in a frozen layer (a snapshot of the stopped container), part not.
        busybox.estiba("snapshot", "create", "sized", "half")
        busybox.docker("cp", "-", "sized:/", input=_tar())
        container_id = busybox.docker("inspect", "-f", "{{.Id}}", "sized").stdout.decode().strip()
        own, image = layer_dirs(busybox, container_id)
        assert len(own) == 2 and image
        rw, image_size = du(own), du(image)
        assert rw > 25_000_000  # 20 MB + 5 MB sparse + 1 MB copied in; the hardlink once
        assert close(rw, du_sb(own))  # a few directories: du itself agrees within 1%

        listed = get(busybox, "/containers/json?all=1&size=1")
        (entry,) = [c for c in listed if c["Id"] == container_id]
        assert close(entry["SizeRw"], rw) and close(entry["SizeRootFs"], rw + image_size)
        inspected = json.loads(busybox.docker("inspect", "--size", "sized").stdout)[0]
        assert close(inspected["SizeRw"], rw) and close(inspected["SizeRootFs"], rw + image_size)

        df = get(busybox, "/system/df")
        (container,) = [c for c in df["Containers"] if c["Id"] == container_id]
        assert close(container["SizeRw"], rw) and close(container["SizeRootFs"], rw + image_size)
        (busybox_image,) = [i for i in df["Images"] if "busybox:latest" in (i["RepoTags"] or [])]
        assert close(busybox_image["Size"], image_size)

        # The CLIs print 3 significant digits: within 1% as well.
        for cli in (busybox.estiba, busybox.docker):
            line = cli("ps", "-a", "-s", "--filter", "name=sized", "--format", "{{.Size}}").stdout.decode()
            written, virtual = re.fullmatch(r"(\S+) \(virtual (\S+)\)\n", line).groups()
            assert close(human(written), rw) and close(human(virtual), rw + image_size), line
            table = cli("system", "df", "--format", "{{.Type}}\t{{.Size}}").stdout.decode()
            rows = dict(line.split("\t") for line in table.splitlines())
            assert close(human(rows["Images"]), image_size), rows
            assert close(human(rows["Containers"]), rw), rows  # the only container
    finally:
        busybox.docker("rm", "-f", "sized", check=False)


def _tar() -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("copied-in")
        info.size = 1_000_000
        archive.addfile(info, io.BytesIO(b"x" * info.size))
    return buffer.getvalue()
