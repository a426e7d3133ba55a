"""The zero-downtime replacement (engine/rolling.py) against a scripted fake API client,
and the anonymous volumes a recreated container takes over (engine/inherit.py)."""

from __future__ import annotations

import io

import pytest

from estiba.compose.engine.inherit import inherit_anonymous_volumes
from estiba.compose.engine.progress import Progress
from estiba.compose.engine.rolling import ReplacementFailed, RollingReplace, can_roll

HEALTHCHECK = {"Healthcheck": {"Test": ["CMD-SHELL", "true"]}}


class FakeClient:
    """The old container `old0...` runs; the new one's inspect documents follow `states`."""

    def __init__(self, states: list[dict], config: dict | None = None) -> None:
        self.calls: list[str] = []
        self.states = states
        self.config = config if config is not None else HEALTHCHECK

    def get(self, path: str, **params):
        if path.startswith("/containers/new"):
            state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
            return {"Name": "/p-web-1", "State": state, "Config": self.config}
        return {"Name": "/p-web-1", "Mounts": [], "State": {"Running": True}}

    def post(self, path: str, body=None, **params):
        self.calls.append(f"POST {path} {params}")
        return None

    def call(self, method: str, path: str, params=None, body=None):
        self.calls.append(f"{method} {path} {params}")


OLD = {"Id": "old000000000000", "Names": ["/p-web-1"], "State": "running",
       "Labels": {"com.docker.compose.container-number": "1"}}


def replacer(client: FakeClient, out: io.StringIO, wait_timeout: float | None = None) -> RollingReplace:
    return RollingReplace(client, Progress(out), lambda number, old: "new", 4, wait_timeout,
                          sleep=lambda seconds: None)


def test_the_new_one_takes_the_ports_once_healthy_then_the_old_one_goes():
    client = FakeClient([{"Status": "running", "Running": True, "Health": {"Status": "starting"}},
                         {"Status": "running", "Running": True, "Health": {"Status": "healthy"}}])
    out = io.StringIO()
    assert replacer(client, out)(OLD) == "new"
    assert client.calls == [
        "POST /containers/old000000000000/rename {'name': 'old000000000_p-web-1'}",
        "POST /containers/new/start {'estiba-defer-ports': '1'}",
        "POST /estiba/containers/new/ports/takeover {'from': 'old000000000000'}",
        "POST /containers/old000000000000/stop {'t': 4}",
        "DELETE /containers/old000000000000 {'force': True, 'v': True}",
    ]
    assert out.getvalue() == "".join(f" Container p-web-1  {s}\n" for s in
                                     ("Recreate", "Waiting", "Healthy", "Switched", "Recreated"))


def test_without_a_healthcheck_running_is_enough():
    client = FakeClient([{"Status": "running", "Running": True}], config={})
    out = io.StringIO()
    replacer(client, out)(OLD)
    assert " Container p-web-1  Running\n" in out.getvalue()


@pytest.mark.parametrize("state, message", [
    ({"Status": "running", "Running": True,
      "Health": {"Status": "unhealthy", "Log": [{"Output": "wget: can't connect\n"}]}},
     "container p-web-1 was not replaced: the new container is unhealthy (last check: wget: can't connect)"),
    ({"Status": "exited", "Running": False, "ExitCode": 3},
     "container p-web-1 was not replaced: the new container exited (3)"),
    ({"Status": "running", "Running": True, "Health": {"Status": "starting"}},
     "container p-web-1 was not replaced: the new container was not healthy after 0s"),
])
def test_a_new_one_that_fails_is_removed_and_the_old_one_renamed_back(state, message):
    client = FakeClient([state])
    out = io.StringIO()
    with pytest.raises(ReplacementFailed) as failed:
        replacer(client, out, wait_timeout=0)(OLD)
    assert str(failed.value).startswith(message)
    assert "the old container keeps serving" in str(failed.value)
    assert client.calls == [
        "POST /containers/old000000000000/rename {'name': 'old000000000_p-web-1'}",
        "POST /containers/new/start {'estiba-defer-ports': '1'}",
        "DELETE /containers/new {'force': True, 'v': True}",
        "POST /containers/old000000000000/rename {'name': 'p-web-1'}",
    ]
    assert out.getvalue().splitlines()[-1] == " Container p-web-1  Error"


def test_which_containers_can_roll():
    assert can_roll({}, {"State": "running"})
    assert not can_roll({}, {"State": "exited"})
    for mode in ("host", "none", "service:db", "container:x"):
        assert not can_roll({"network_mode": mode}, {"State": "running"})


def test_anonymous_volumes_are_taken_over_by_name():
    body = {"HostConfig": {
        "Binds": ["/srv:/srv:rw"],
        "Mounts": [{"Type": "volume", "Target": "/data", "ReadOnly": False},
                   {"Type": "volume", "Source": "named", "Target": "/named", "ReadOnly": False}],
    }}
    old = {"Mounts": [
        {"Type": "volume", "Name": "abc", "Destination": "/data", "RW": True},
        {"Type": "volume", "Name": "named", "Destination": "/named", "RW": True},
        {"Type": "volume", "Name": "img", "Destination": "/var/lib/x/", "RW": False},
        {"Type": "volume", "Name": "gone", "Destination": "/srv", "RW": True},  # a bind now
        {"Type": "bind", "Source": "/srv", "Destination": "/srv", "RW": True},
    ]}
    taken = inherit_anonymous_volumes(body, old, {"/var/lib/x": {}, "/srv": {}})
    assert taken == ["abc", "img"]
    assert body["HostConfig"]["Mounts"] == [
        {"Type": "volume", "Source": "named", "Target": "/named", "ReadOnly": False},
        {"Type": "volume", "Source": "abc", "Target": "/data", "ReadOnly": False},
        {"Type": "volume", "Source": "img", "Target": "/var/lib/x", "ReadOnly": True},
    ]


def test_nothing_to_take_over_changes_nothing():
    body = {"HostConfig": {"NetworkMode": "p_default"}}
    assert inherit_anonymous_volumes(body, {"Mounts": []}, None) == []
    assert body == {"HostConfig": {"NetworkMode": "p_default"}}
