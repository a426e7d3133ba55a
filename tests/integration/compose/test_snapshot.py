"""`estiba compose snapshot|restore` on a real daemon: a two-service project sharing a named
volume gets its files back exactly (container roots and volume), snapshots list and go
without leaving a container snapshot or volume copy behind, `down -v` takes the copies
with the volumes, and the error paths say what to do."""

from __future__ import annotations

import json

from tests.integration.compose.services import SERVE


PAIR = f"""
services:
  web:
    image: busybox
    command: {SERVE}
    depends_on: [db]
    volumes: [data:/shared]
  db:
    image: busybox
    command: {SERVE}
    volumes: [data:/data]
volumes:
  data: {{}}
"""

# What the checksums cover: files in each container's own root and in the shared volume.
SUMS = "find /app /shared /data -type f 2>/dev/null | sort | xargs -r md5sum; ls -la /app /shared /data 2>/dev/null | grep -v ' \\.\\.\\?$' | md5sum"


def sh(app, service: str, script: str) -> str:
    result = app.daemon.estiba("exec", f"{app.name}-{service}-1", "sh", "-c", script)
    return result.stdout.decode()


def container_snapshots(app) -> dict[str, list[str]]:
    client = app.client()
    return {
        name: [s["Name"] for s in client.get(f"/estiba/containers/{c['Id']}/snapshots")]
        for name, c in app.containers().items()
    }


def states(app) -> dict[str, str]:
    return {name: c["State"] for name, c in app.containers().items()}


def test_restore_brings_back_container_files_and_volume_data_exactly(compose):
    app = compose(PAIR)
    n = app.name
    app.run("up", "-d")
    sh(app, "web", "mkdir /app && echo v1 > /app/conf && echo hello > /shared/a.txt"
                   " && mkdir /shared/sub && echo deep > /shared/sub/b.txt && chmod 600 /shared/sub/b.txt")
    sh(app, "db", "mkdir /app && echo rows > /app/db.bin")
    before = {"web": sh(app, "web", SUMS), "db": sh(app, "db", SUMS)}
    assert "/shared/sub/b.txt" in before["web"] and "/data/a.txt" in before["db"]

    made = app.run("snapshot")
    assert made.stdout == "snap0\n"
    assert f" Container {n}-db-1  Snapshotted" in made.stderr
    assert f' Volume {n}_data  Copied to {n}_data.snap0' in made.stderr
    assert set(states(app).values()) == {"running"}  # paused meanwhile, running again

    sh(app, "web", "echo v2 > /app/conf && rm /shared/a.txt && echo later > /shared/new.txt"
                   " && chmod 644 /shared/sub/b.txt")
    sh(app, "db", "rm -r /app")
    assert sh(app, "web", SUMS) != before["web"]

    refused = app.run("restore", "snap0", check=False)
    assert refused.returncode != 0
    assert f"project {n} is running ({n}-db-1, {n}-web-1)" in refused.stderr
    assert "--force" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert sh(app, "web", "cat /app/conf") == "v2\n"  # nothing touched

    restored = app.run("restore", "--force", "snap0")
    assert restored.stderr.index(f"Container {n}-web-1  Stopping") < restored.stderr.index(
        f"Container {n}-db-1  Stopping")  # dependents first
    assert restored.stderr.index(f"Container {n}-db-1  Starting") < restored.stderr.index(
        f"Container {n}-web-1  Starting")  # dependencies first
    assert states(app) == {f"{n}-db-1": "running", f"{n}-web-1": "running"}
    assert {"web": sh(app, "web", SUMS), "db": sh(app, "db", SUMS)} == before
    assert sh(app, "web", "ls /shared") == "a.txt\nsub\n"

    listed = app.run("snapshot", "ls").stdout.splitlines()
    assert listed[0].split() == ["NAME", "CREATED", "CONTAINERS", "VOLUMES", "SIZE"]
    assert listed[1].split()[0] == "snap0" and listed[1].split()[4:6] == ["2", "1"]
    assert len(listed) == 2


def test_list_and_remove_leave_nothing_behind_and_stopped_projects_restore(compose):
    app = compose(PAIR)
    n = app.name
    app.run("up", "-d")
    volumes_before = app.objects().volumes
    assert container_snapshots(app) == {f"{n}-db-1": [], f"{n}-web-1": []}

    assert app.run("snapshot").stdout == "snap0\n"
    sh(app, "db", "echo after-snap0 > /data/f")
    assert app.run("snapshot", "create", "before-upgrade").stdout == "before-upgrade\n"
    assert app.run("snapshot").stdout == "snap1\n"  # LXD's next free name
    assert app.objects().volumes == volumes_before | {
        f"{n}_data.snap0", f"{n}_data.before-upgrade", f"{n}_data.snap1"}
    assert app.run("snapshot", "ls", "-q").stdout == "snap0\nbefore-upgrade\nsnap1\n"
    document = json.loads(app.run("snapshot", "ls", "--format", "json").stdout)
    assert [d["Name"] for d in document] == ["snap0", "before-upgrade", "snap1"]
    assert {c["Name"] for c in document[1]["Containers"]} == {f"{n}-db-1", f"{n}-web-1"}
    assert document[1]["Volumes"][0]["Volume"] == f"{n}_data"
    # The copies are no project volumes: `estiba volume ls` shows them, compose knows them.
    copy = app.client().get(f"/volumes/{n}_data.snap0")
    assert copy["Labels"]["estiba.compose.snapshot"] == "snap0"

    again = app.run("snapshot", "before-upgrade", check=False)
    assert again.returncode != 0
    assert f"snapshot before-upgrade already exists in project {n}" in again.stderr

    # A stopped project restores without --force and stays stopped.
    app.run("stop", "-t", "1")
    app.run("restore", "snap0")
    assert set(states(app).values()) == {"exited"}
    app.run("start")
    assert sh(app, "db", "ls /data") == ""

    removed = app.run("snapshot", "rm", "snap0", "before-upgrade", "snap1")
    assert removed.stdout == "snap0\nbefore-upgrade\nsnap1\n"
    assert app.objects().volumes == volumes_before
    assert container_snapshots(app) == {f"{n}-db-1": [], f"{n}-web-1": []}
    assert app.run("snapshot", "ls", "-q").stdout == ""
    gone = app.run("snapshot", "rm", "snap0", check=False)
    assert gone.returncode != 0
    assert f"no snapshot snap0 in project {n}: list them with `estiba compose snapshot ls`" in gone.stderr


def test_down_volumes_removes_the_copies_and_errors_are_clear(compose):
    app = compose(PAIR)
    n = app.name
    baseline = app.objects()

    empty = app.run("snapshot", check=False)
    assert empty.returncode != 0 and f"project {n} has no containers" in empty.stderr
    assert "up -d" in empty.stderr and len(empty.stderr.strip().splitlines()) == 1
    no_restore = app.run("restore", "snap0", check=False)
    assert no_restore.returncode != 0 and f"project {n} has no containers" in no_restore.stderr

    app.run("up", "-d")
    sh(app, "db", "echo kept > /data/kept.txt")
    app.run("snapshot", "keep")
    sh(app, "db", "echo later > /data/later.txt && rm /data/kept.txt")
    unknown = app.run("restore", "nope", check=False)
    assert unknown.returncode != 0
    assert len(unknown.stderr.strip().splitlines()) == 1
    assert f"no snapshot nope in project {n}: list them with `estiba compose snapshot ls`" in unknown.stderr
    bad = app.run("restore", "../x", check=False)
    assert bad.returncode != 0 and "invalid snapshot name '../x'" in bad.stderr

    # A running container outside the project's services using its volume: refused first.
    app.daemon.estiba("run", "-d", "--name", f"{n}-outsider", "-v", f"{n}_data:/x", "busybox", "sleep", "300")
    try:
        outsider = app.run("restore", "--force", "keep", check=False)
        assert outsider.returncode != 0
        assert f"volume {n}_data is in use by running container {n}-outsider" in outsider.stderr
        assert set(states(app).values()) == {"running"}
    finally:
        app.daemon.estiba("rm", "-f", f"{n}-outsider")

    # A service added after the snapshot: refused by name, nothing stopped.
    app.write(PAIR.replace("volumes:\n  data: {}\n", f"  extra:\n    image: busybox\n    command: {SERVE}\nvolumes:\n  data: {{}}\n"))
    app.run("up", "-d")
    newer = app.run("restore", "--force", "keep", check=False)
    assert newer.returncode != 0
    assert f"snapshot keep has no {n}-extra-1: created or recreated after it" in newer.stderr
    assert set(states(app).values()) == {"running"}

    # After `down` the snapshot holds its volume copy alone: restore puts the volume back.
    app.run("down", "-t", "1")
    assert f"{n}_data.keep" in app.objects().volumes
    assert app.run("snapshot", "ls", "--format", "{{.Name}} {{.Containers}} {{.Volumes}}").stdout == "keep 0 1\n"
    volumes_only = app.run("restore", "keep")
    assert "snapshot keep holds no container any more (removed since): restoring its volumes only" in volumes_only.stderr
    app.run("up", "-d")
    assert sh(app, "db", "ls /data; cat /data/kept.txt") == "kept.txt\nkept\n"

    app.run("down", "-v", "-t", "1")
    after = app.objects()
    assert after.volumes == baseline.volumes  # the copy went with the project's volume
    assert not any(v.startswith(f"{n}_") for v in after.volumes)
    assert after.containers == baseline.containers
