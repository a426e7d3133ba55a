"""Live restore: the daemon and its fork server die, the container and its shim go on, and a
new client (a restarted daemon knows only the state directory) waits and attaches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from estiba.shim import ShimClient, read_entries

from .conftest import wait_for
from .test_shim_attach import read_frames

DAEMON = """
import json, sys, time
from estiba.shim import ForkServer, ShimSpec
server = ForkServer.start()
handle = server.spawn(ShimSpec.loads(sys.argv[1]))
print(json.dumps({"fork_server": server.pid, "shim": handle.spawned_shim_pid, "pid": handle.container_pid}),
      flush=True)
time.sleep(600)
"""


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        raw = handle.read()
    return int(raw[raw.rindex(b")") + 2 :].split()[1])


def test_killing_the_daemon_and_fork_server_leaves_the_container_running(roots, make_bundle):
    script = "i=0; while [ $i -lt 20 ]; do echo tick-$i; i=$((i+1)); sleep 0.15; done; exit 4"
    spec = roots.spec(make_bundle(args=["sh", "-c", script]))
    daemon = subprocess.Popen([sys.executable, "-c", DAEMON, spec.dumps()], stdout=subprocess.PIPE, text=True)
    try:
        started = json.loads(daemon.stdout.readline())
        # A child of the fork server, in a session of its own, until the server dies.
        assert parent_of(started["shim"]) == started["fork_server"]
        assert os.getsid(started["shim"]) == started["shim"]
        wait_for(lambda: len(read_entries(spec.log_path)) >= 2, what="the first ticks")
    finally:
        daemon.kill()
        daemon.wait()
        daemon.stdout.close()
    os.kill(started["fork_server"], signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{started['fork_server']}/exe"), what="the fork server's end")
    # Reparented (the server's memory goes first, its children a moment later).
    wait_for(lambda: parent_of(started["shim"]) not in (daemon.pid, started["fork_server"]),
             what="the shim's new parent")

    client = ShimClient(spec.state_dir)  # what a new daemon has: the directory
    assert client.alive() and client.pid() == started["pid"] and client.shim_pid() == started["shim"]
    os.kill(started["pid"], 0)
    logged_at_kill = len(read_entries(spec.log_path))
    sock = client.attach()
    frames = read_frames(sock, b"tick-")  # later ticks come live
    assert b"tick-" in frames[1]
    sock.close()
    status = client.wait(15)
    assert status["exit_code"] == 4
    ticks = [e["log"] for e in read_entries(spec.log_path)]
    assert len(ticks) > logged_at_kill
    assert ticks == [f"tick-{i}\n" for i in range(20)]  # no gap
    client.wait_released(10)
