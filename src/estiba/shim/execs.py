"""Processes exec'd into the running container, each with its own stdio and exit file.

An `exec` control request names the process (an OCI process object) and an id; the shim
writes it to `exec-<id>.process.json`, gives it pipes or a pty, and asks the runtime's exec
to run it detached: as a child subreaper the shim reaps it like the container's process.
With `attach`, the control connection carries its stream from before it can print
anything. Its end is recorded in `exec-<id>.json` ({"exit_code", "finished_at", "pid",
"error"}); exec output is not logged (as in Docker).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from estiba.errors import Conflict, EstibaError, NotFound
from estiba.shim import control, statedir
from estiba.shim.attach import AttachRequest
from estiba.shim.runtimes import exit_code, run_isolated, start_failure_code
from estiba.shim.streams import ProcessIO

if TYPE_CHECKING:
    from estiba.shim.monitor import Job, Monitor


class ExecRunner:
    def __init__(self, monitor: "Monitor") -> None:
        self.monitor = monitor
        self.by_id: dict[str, "Job"] = {}

    def jobs(self) -> list["Job"]:
        return [job for job in self.by_id.values() if not job.done]

    def by_pid(self, pid: int) -> "Job | None":
        return next((job for job in self.by_id.values() if job.pid == pid and job.status is None), None)

    def get(self, exec_id: str) -> "Job":
        job = self.by_id.get(exec_id)
        if job is None:
            if os.path.exists(self._path(exec_id, "json")):  # ended, and let go of
                raise Conflict(f"exec {exec_id} is not running")
            raise NotFound(f"no exec {exec_id!r} in container {self.monitor.spec.container_id}")
        return job

    def running(self) -> dict[str, int]:
        return {exec_id: job.pid for exec_id, job in self.by_id.items() if job.status is None}

    def _path(self, exec_id: str, suffix: str) -> str:
        return self.monitor.path(statedir.exec_file(exec_id, suffix))

    def start(self, sock: socket.socket, args: dict[str, Any]) -> None:
        """Run the process; answer on `sock`, which then carries its stream if asked to."""
        from estiba.shim.monitor import Job

        monitor = self.monitor
        exec_id = args["exec_id"]
        exit_path = self._path(exec_id, "json")
        if exec_id in self.by_id or os.path.exists(exit_path):
            raise Conflict(f"exec {exec_id!r} already exists")
        if not monitor.started or monitor.main.status is not None:
            raise Conflict(f"container {monitor.spec.container_id} is not running")
        process = args["process"]
        attach = AttachRequest.decode(json.dumps(args["attach"])) if args.get("attach") else None
        process_file = self._path(exec_id, "process.json")
        pid_file = self._path(exec_id, "pid")
        statedir.write_json(process_file, process)
        io = ProcessIO(monitor.loop, tty=bool(process.get("terminal")), open_stdin=args.get("open_stdin", False),
                       stdin_once=args.get("stdin_once", False), log=None)
        try:
            child = io.open(monitor.spec.state_dir, statedir.exec_file(exec_id, "sock"))
            pid = monitor.runtime.spawn_exec(process_file, child, monitor.main.pid)
            if pid is None:
                pid = run_isolated(monitor.runtime.exec, process_file, pid_file, child)
            io.adopt()
        except EstibaError as exc:
            io.close()
            code = start_failure_code(exc.message)
            statedir.write_json(exit_path, _record(code, 0, exc.message))
            self._forget_files(exec_id)
            raise
        except BaseException:
            io.close()
            self._forget_files(exec_id)
            raise
        self.by_id[exec_id] = Job(pid, io, exec_id=exec_id)
        greeting = control.encode_answer({"pid": pid, "tty": io.tty})
        if attach is None:
            sock.setblocking(True)
            sock.settimeout(1)
            with contextlib.suppress(OSError):
                sock.sendall(greeting)
            sock.close()
        else:
            monitor._attach(sock, attach, io, greeting=greeting)

    def ended(self, job: "Job") -> None:
        """The process exited and its output is drained: record it, and let go of it (the
        record answers from now on), so that frequent execs (health probes) pile nothing up."""
        statedir.write_json(self._path(job.exec_id, "json"), _record(exit_code(job.status), job.pid, ""))
        self._forget_files(job.exec_id)
        if self.by_id.get(job.exec_id) is job:
            del self.by_id[job.exec_id]

    def _forget_files(self, exec_id: str) -> None:
        for suffix in ("process.json", "pid"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(exec_id, suffix))

    def reap_all(self, timeout: float) -> None:
        """After the container's delete: wait for the exec'd processes it killed."""
        deadline = time.monotonic() + timeout
        while self.jobs() and time.monotonic() < deadline:
            for job in self.jobs():
                if job.status is not None:
                    self.monitor._job_ended(job)
            if self.jobs():
                self.monitor.loop.poll(0.02)
        for job in self.jobs():  # never reaped: record them as killed
            job.status = 9
            self.monitor._job_ended(job)

    def close(self) -> None:
        for job in self.by_id.values():
            job.io.close()


def _record(code: int, pid: int, error: str) -> dict:
    return {"exit_code": code, "finished_at": statedir.rfc3339nano(), "pid": pid, "error": error}
