"""What a recreate carries over, as compose v2: the old container's anonymous volumes
(unless -V), and the services in its network namespace, recreated in the new one's."""

from __future__ import annotations

VOLUME = """
services:
  keeper:
    image: busybox
    command: ["sh", "-c", "test -f /data/first || cat /proc/sys/kernel/random/uuid > /data/first; exec sleep 300"]
    volumes: ["/data"]
    environment:
      GENERATION: "${GENERATION:-1}"
    stop_grace_period: 1s
"""


def test_anonymous_volumes_survive_a_recreate_unless_renewed(compose):
    app = compose(VOLUME)
    before = app.objects()
    app.run("up", "-d")

    def first() -> str:
        return app.run("exec", "-T", "keeper", "cat", "/data/first").stdout

    def anonymous() -> set[str]:
        return app.objects().volumes - before.volumes

    written, volumes = first(), anonymous()
    assert len(volumes) == 1
    app.run("up", "-d", env={"GENERATION": "2"})  # changed: recreated
    assert first() == written and anonymous() == volumes  # the same volume, taken over
    app.run("up", "-d", "--wait", "--force-recreate", env={"GENERATION": "2"})  # without downtime too
    assert first() == written and anonymous() == volumes
    renewed = app.run("up", "-d", "-V", "--force-recreate", env={"GENERATION": "2"})
    assert "keeper-1  Recreated" in renewed.stderr
    assert first() != written
    assert len(anonymous()) == 1 and anonymous() != volumes  # the old one went with its container
    app.run("down", "-v", "-t", "0")
    assert app.objects() == before


NAMESPACE = """
services:
  web:
    image: busybox
    command: ["sleep", "300"]
    environment:
      GENERATION: "${GENERATION:-1}"
    stop_grace_period: 1s
  sidecar:
    image: busybox
    command: ["sleep", "300"]
    network_mode: "service:web"
    stop_grace_period: 1s
"""


def test_a_service_in_a_recreated_namespace_is_recreated_too(compose):
    app = compose(NAMESPACE)
    app.run("up", "-d")
    mac = "cat /sys/class/net/eth0/address"

    def ids() -> dict[str, str]:
        return {n.rsplit("-", 2)[1]: c["Id"] for n, c in app.containers().items()}

    def same_namespace() -> bool:
        return app.run("exec", "-T", "sidecar", "sh", "-c", mac).stdout == \
            app.run("exec", "-T", "web", "sh", "-c", mac).stdout

    first = ids()
    # network_mode service:web joins web's container by its ID; the image's ID is labelled.
    sidecar = app.containers()[f"{app.name}-sidecar-1"]
    assert sidecar["HostConfig"]["NetworkMode"] == f"container:{first['web']}"
    image = app.client().get("/images/busybox/json")["Id"]
    assert sidecar["Labels"]["com.docker.compose.image"] == image
    result = app.run("up", "-d", env={"GENERATION": "2"})
    second = ids()
    assert second["web"] != first["web"] and second["sidecar"] != first["sidecar"]
    assert f"{app.name}-sidecar-1  Recreated" in result.stderr
    assert same_namespace()
    # With --wait, web is replaced without downtime (during the start), then sidecar.
    result = app.run("up", "-d", "--wait", env={"GENERATION": "3"})
    third = ids()
    assert third["web"] != second["web"] and third["sidecar"] != second["sidecar"]
    assert f"{app.name}-web-1  Switched" in result.stderr
    assert all(c["State"] == "running" for c in app.containers().values())
    assert same_namespace()
    # Nothing changed: nothing recreated.
    app.run("up", "-d", env={"GENERATION": "3"})
    assert ids() == third
