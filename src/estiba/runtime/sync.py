"""The typed messages a runtime parent and its container child exchange while creating.

One SOCK_SEQPACKET socket pair carries them: each datagram is one JSON object
`{"t": <Msg value>, "d": <payload>}`, so message boundaries need no framing.
"""

from __future__ import annotations

import enum
import json
import socket

from estiba.errors import SystemFault


class Msg(enum.Enum):
    GO = "go"  # parent -> child: the child is in its cgroup, carry on
    MAP_IDS = "map-ids"  # child -> parent: user namespace made, write uid/gid maps
    IDS_MAPPED = "ids-mapped"  # parent -> child
    PID = "pid"  # child -> parent: the container process's pid (host view)
    RUN_HOOKS = "run-hooks"  # init -> parent: namespaces and mounts ready; run prestart/createRuntime
    HOOKS_DONE = "hooks-done"  # parent -> init; payload is the state for createContainer hooks
    READY = "ready"  # init -> parent: rootfs done; set rlimits and oom_score_adj now
    CONTINUE = "continue"  # parent -> init
    DONE = "done"  # init -> parent: all set, now waiting on the exec fifo (or exec'ing)
    ERROR = "error"  # child -> parent: payload is the one-line error


class ChildDied(SystemFault):
    """The other end closed the channel without a word."""


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    def pair(cls) -> tuple["Channel", "Channel"]:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        return cls(parent), cls(child)

    def send(self, kind: Msg, data: object = None) -> None:
        self.sock.send(json.dumps({"t": kind.value, "d": data}).encode())

    def recv(self) -> tuple[Msg, object]:
        raw = self.sock.recv(1 << 20)
        if not raw:
            raise ChildDied("container process exited during set-up")
        message = json.loads(raw)
        return Msg(message["t"]), message.get("d")

    def expect(self, kind: Msg) -> object:
        """Receive one message; an ERROR from the other side is raised as a SystemFault."""
        got, data = self.recv()
        if got is Msg.ERROR:
            raise SystemFault(str(data))
        if got is not kind:
            raise SystemFault(f"set-up out of step: expected {kind.value}, got {got.value}")
        return data

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()
