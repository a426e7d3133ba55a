"""The shim: one process per container that makes it, holds its stdio, and records its end.

`Monitor.run()` is the whole life of a shim, in order:

1. set-up: shim.pid, the attach and control sockets, the container's stdio, the runtime's
   create, `pid`; then start (or wait for a `start` request), and tell the spawner on
   the ready pipe;
2. serve: one epoll loop, no threads: output to the log and the attached clients, their
   input to stdin, control requests, SIGCHLD (the shim is a child subreaper, so the
   container's process and exec'd ones are ours to reap);
3. end: when the container's process has exited and its output is drained: exit.json
   (atomically), the runtime's delete (cgroup and state released), the last output
   flushed to attached clients, sockets removed.

A create or start that fails leaves exit.json with the runtime's error and Docker's exit
code (127 missing binary, 126 not executable, 128 otherwise), after undoing everything.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
import traceback
from dataclasses import dataclass

from estiba.errors import Conflict, EstibaError, InvalidArgument, SystemFault
from estiba.shim import control, statedir
from estiba.shim.attach import MAX_REQUEST, AttachRequest, Subscriber, answer
from estiba.shim.execs import ExecRunner
from estiba.shim.logs import JsonFileLog
from estiba.shim.runtimes import ContainerRuntime, exit_code, run_isolated, start_failure_code
from estiba.shim.spec import ShimSpec
from estiba.shim.streams import ERR, HUP, IN, OUT, Loop, ProcessIO

DRAIN_TIMEOUT = 1.0  # output still coming after the process exited (a child holds the pipe)
CLIENT_FLUSH_TIMEOUT = 5.0  # attached clients that are slow to take the last output


@dataclass
class Job:
    """A process the shim watches: the container's own, or one exec'd into it."""

    pid: int
    io: ProcessIO
    exec_id: str = ""
    status: int | None = None
    deadline: float = 0.0
    done: bool = False


class _Pending:
    """A new connection whose request line has not fully arrived."""

    def __init__(self, sock: socket.socket, kind: str) -> None:
        self.sock, self.kind, self.buffer = sock, kind, b""


class Monitor:
    def __init__(self, spec: ShimSpec, runtime: ContainerRuntime, *, start: bool = True, ready_fd: int = -1) -> None:
        self.spec = spec
        self.runtime = runtime
        self.start_now = start
        self.ready_fd = ready_fd
        self.loop = Loop()
        self.path = lambda name: os.path.join(spec.state_dir, name)
        self.main: Job | None = None
        self.started = False
        self.failed = False
        self.listeners: dict[int, tuple[socket.socket, str]] = {}
        self.pending: dict[int, _Pending] = {}
        self.subscribers: dict[int, tuple[Subscriber, ProcessIO]] = {}
        self.execs = ExecRunner(self)

    # ---- 1. set-up ---------------------------------------------------------------------

    def run(self) -> int:
        statedir.atomic_write(self.path(statedir.SHIM_PID), str(os.getpid()).encode(), durable=False)
        self._watch_children()
        try:
            self._listen()
            log = JsonFileLog(self.spec.log_path, self.spec.log_max_size, self.spec.log_max_files) \
                if self.spec.log_path else None
            io = ProcessIO(self.loop, tty=self.spec.tty, open_stdin=self.spec.open_stdin,
                           stdin_once=self.spec.stdin_once, log=log)
            self.main = Job(0, io)
            child = io.open(self.spec.state_dir, statedir.CONSOLE_SOCK)
        except Exception as exc:  # noqa: BLE001 - the shim's own set-up: no 126/127 reading
            self._fail(exc, from_runtime=False)
            return 0
        try:
            self.main.pid = run_isolated(_create, self.runtime, child, self.start_now)
            self.runtime.created(self.main.pid)
            io.adopt()
            statedir.atomic_write(self.path(statedir.CONTAINER_PID), str(self.main.pid).encode(), durable=False)
            self.started = self.start_now
            self._report("started" if self.started else "created", pid=self.main.pid)
        except Exception as exc:  # noqa: BLE001 - every failure ends in exit.json
            self._fail(exc)
            return 0
        self._serve()
        if not self.failed:
            self._finish()
        return 0

    def _listen(self) -> None:
        for name, kind in ((statedir.ATTACH_SOCK, "attach"), (statedir.CONTROL_SOCK, "control")):
            sock = statedir.SocketPath(self.spec.state_dir, name).listen()
            sock.setblocking(False)
            self.listeners[sock.fileno()] = (sock, kind)
            self.loop.add(sock.fileno(), IN, self._on_accept)

    def _watch_children(self) -> None:
        read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        self.loop.add(read_end, IN, self._on_sigchld)

    def _report(self, state: str, **fields) -> None:
        """Tell the spawner (once) how set-up went, on the ready pipe."""
        if self.ready_fd < 0:
            return
        line = json.dumps({"state": state, "shim_pid": os.getpid(), **fields}).encode() + b"\n"
        with contextlib.suppress(OSError):
            os.write(self.ready_fd, line)
        os.close(self.ready_fd)
        self.ready_fd = -1

    def _fail(self, exc: BaseException, *, from_runtime: bool = True) -> EstibaError:
        """Undo, record exit.json, report; return the error as the spawner should see it."""
        message = exc.message if isinstance(exc, EstibaError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, EstibaError):
            traceback.print_exc()
        code = start_failure_code(message) if from_runtime else 128
        self.failed = True
        with contextlib.suppress(Exception):
            self.runtime.delete()
        self._close_everything()
        self._write_exit(code, oom=False, error=message)
        # A missing or non-executable program is the caller's mistake (Docker answers 400).
        error = InvalidArgument(message) if code in (126, 127) else \
            exc if isinstance(exc, EstibaError) else SystemFault(message)
        self._report("failed", error=message, exit_code=code, kind=type(error).__name__)
        return error

    # ---- 2. serve ----------------------------------------------------------------------

    def _serve(self) -> None:
        main = self.main
        while not main.done:
            jobs = [main, *self.execs.jobs()]
            now = time.monotonic()
            for job in jobs:
                if job.status is not None and not job.done and (not job.io.output_open or now >= job.deadline):
                    self._job_ended(job)
            if main.done:
                break
            self._rearm()
            deadlines = [j.deadline - now for j in jobs if j.status is not None and not j.done]
            self.loop.poll(max(0.0, min(deadlines)) if deadlines else None)

    def _on_sigchld(self, fd: int, _events: int) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(fd, 512):
                pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            job = self.main if self.main is not None and pid == self.main.pid else self.execs.by_pid(pid)
            if job is not None and job.status is None:
                job.status = status
                job.deadline = time.monotonic() + DRAIN_TIMEOUT

    def _job_ended(self, job: Job) -> None:
        """The process exited and its output is read: stop reading, let its clients go."""
        job.io.drain_output()
        job.io.close()  # what a leftover child writes now is not this process's output
        job.done = True
        if job is not self.main:
            self.execs.ended(job)
        for subscriber, io in list(self.subscribers.values()):
            if io is job.io:
                subscriber.reading = False
                subscriber.ending = True

    def _rearm(self) -> None:
        for subscriber, io in list(self.subscribers.values()):
            if subscriber.ending and not subscriber.backlog:
                subscriber.close()
                continue
            reading = subscriber.reading and not (subscriber.request.stdin and io.stdin_full)
            self.loop.modify(subscriber.fd, (IN if reading else 0) | (OUT if subscriber.backlog else 0))

    def _on_accept(self, fd: int, _events: int) -> None:
        listener, kind = self.listeners[fd]
        try:
            sock, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        sock.setblocking(False)
        self.pending[sock.fileno()] = _Pending(sock, kind)
        self.loop.add(sock.fileno(), IN, self._on_request)

    def _on_request(self, fd: int, _events: int) -> None:
        pending = self.pending[fd]
        try:
            data = pending.sock.recv(MAX_REQUEST)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        pending.buffer += data
        if b"\n" not in pending.buffer:
            if not data or len(pending.buffer) > MAX_REQUEST:
                self._drop_pending(fd).close()
            return
        sock = self._drop_pending(fd)
        line, _, rest = pending.buffer.partition(b"\n")
        try:
            if pending.kind == "attach":
                self._attach(sock, AttachRequest.decode(line), self._main_io(), rest)
            else:
                self._control(sock, line)
        except Exception as exc:  # noqa: BLE001 - the client gets the error, the shim goes on
            if not isinstance(exc, EstibaError):
                traceback.print_exc()
            with contextlib.suppress(OSError):
                sock.setblocking(True)
                sock.settimeout(1)
                sock.sendall(control.encode_error(exc))
            sock.close()

    def _drop_pending(self, fd: int) -> socket.socket:
        self.loop.remove(fd)
        return self.pending.pop(fd).sock

    def _main_io(self) -> ProcessIO:
        if self.main.status is not None:
            raise Conflict(f"container {self.spec.container_id} is not running")
        return self.main.io

    def _attach(self, sock: socket.socket, request: AttachRequest, io: ProcessIO, rest: bytes = b"",
                greeting: bytes | None = None) -> None:
        subscriber = Subscriber(sock, request, io.tty, on_close=self._unsubscribe)
        self.subscribers[subscriber.fd] = (subscriber, io)
        io.subscribers.append(subscriber)
        self.loop.add(subscriber.fd, IN, self._on_subscriber)
        subscriber.queue(greeting if greeting is not None else answer(tty=io.tty))
        if rest:
            self._stdin_from(subscriber, io, rest)

    def _unsubscribe(self, subscriber: Subscriber) -> None:
        self.loop.remove(subscriber.fd)
        _, io = self.subscribers.pop(subscriber.fd)
        with contextlib.suppress(ValueError):
            io.subscribers.remove(subscriber)

    def _on_subscriber(self, fd: int, events: int) -> None:
        subscriber, io = self.subscribers[fd]
        if events & IN and subscriber.reading:
            try:
                data = subscriber.sock.recv(65536)
            except BlockingIOError:
                data = None
            except OSError:
                subscriber.close()
                return
            if data:
                self._stdin_from(subscriber, io, data)
            elif data is not None:  # the client shut its side: it sends no more
                subscriber.reading = False
                # As dockerd: StdinOnce closes a pipe, never a terminal. A client leaving
                # a TTY (detach keys, a killed `docker attach`) must leave its input open
                # for the next attach; the process ends a TTY session itself (exit, ^D).
                if subscriber.request.stdin and io.stdin_once and not io.tty:
                    io.close_stdin()
        if events & OUT:
            subscriber.flush()
        if events & (HUP | ERR) and not (events & IN and subscriber.reading):
            subscriber.close()

    def _stdin_from(self, subscriber: Subscriber, io: ProcessIO, data: bytes) -> None:
        if subscriber.request.stdin and io.open_stdin:
            io.write_stdin(data)

    # ---- control requests --------------------------------------------------------------

    def _control(self, sock: socket.socket, line: bytes) -> None:
        op, args = control.decode_request(line)
        if op == "exec":
            self.execs.start(sock, args)
            return
        result = getattr(self, f"_op_{op}")(**args)
        sock.setblocking(True)
        sock.settimeout(1)
        with contextlib.suppress(OSError):
            sock.sendall(control.encode_answer(result))
        sock.close()

    def _op_start(self) -> dict:
        if self.started:
            raise Conflict(f"container {self.spec.container_id} is already started")
        try:
            # In this process, not a throwaway child: a start only opens the exec fifo (or
            # runs `<runtime> start`), and a fork of the shim costs more than it does.
            self.runtime.start()
        except Exception as exc:  # noqa: BLE001 - the container is undone; the client hears why
            self.main.done = True
            raise self._fail(exc) from exc
        self.started = True
        return {"pid": self.main.pid}

    def _op_state(self) -> dict:
        status = "exited" if self.main.status is not None else "running" if self.started else "created"
        return {"status": status, "pid": self.main.pid, "execs": self.execs.running()}

    def _job(self, exec_id: str = "") -> Job:
        job = self.execs.get(exec_id) if exec_id else self.main
        if job.status is not None:
            raise Conflict(f"{'exec ' + exec_id if exec_id else 'container'} is not running")
        return job

    def _op_resize(self, rows: int, cols: int, exec_id: str = "") -> None:
        if not (0 < rows < 65536 and 0 < cols < 65536):
            raise InvalidArgument(f"resize: {rows}x{cols} is not a terminal size")
        self._job(exec_id).io.resize(rows, cols)

    def _op_kill(self, signal: int, all: bool = False, exec_id: str = "") -> None:  # noqa: A002
        job = self._job(exec_id)
        if exec_id:
            os.kill(job.pid, signal)
        else:
            run_isolated(self.runtime.kill, signal, all)

    def _op_close_stdin(self, exec_id: str = "") -> None:
        self._job(exec_id).io.close_stdin()

    # ---- 3. end ------------------------------------------------------------------------

    def _finish(self) -> None:
        self._close_listeners()
        log = self.main.io.log
        if log is not None:
            log.close()
        oom = False
        with contextlib.suppress(Exception):
            oom = self.runtime.oom_kill_count() > 0
        self._write_exit(exit_code(self.main.status), oom=oom, error="")
        try:
            self.runtime.delete()  # also ends exec'd processes still running
        except Exception:  # noqa: BLE001 - recorded for whoever looks; the exit is already known
            traceback.print_exc()
        self.execs.reap_all(timeout=2.0)
        deadline = time.monotonic() + CLIENT_FLUSH_TIMEOUT
        while self.subscribers and time.monotonic() < deadline:
            self._rearm()
            if self.subscribers:
                self.loop.poll(0.05)
        self._close_everything()

    def _write_exit(self, code: int, *, oom: bool, error: str) -> None:
        statedir.write_json(self.path(statedir.EXIT_FILE), {
            "exit_code": code, "oom_killed": oom, "finished_at": statedir.rfc3339nano(), "error": error,
        })

    def _close_listeners(self) -> None:
        for fd, (sock, _) in list(self.listeners.items()):
            self.loop.remove(fd)
            sock.close()
        self.listeners.clear()
        for name in (statedir.ATTACH_SOCK, statedir.CONTROL_SOCK):
            statedir.SocketPath(self.spec.state_dir, name).unlink()

    def _close_everything(self) -> None:
        self._close_listeners()
        for fd in list(self.pending):
            self._drop_pending(fd).close()
        for subscriber, _ in list(self.subscribers.values()):
            subscriber.close()
        if self.main is not None:
            self.main.io.close()
            if self.main.io.log is not None:
                self.main.io.log.close()
        self.execs.close()


def _create(runtime: ContainerRuntime, child, start: bool) -> int:
    """create, and start too unless asked not to: one throwaway child for both."""
    pid = runtime.create(child)
    if start:
        runtime.start()  # on failure, the monitor deletes the container
    return pid
