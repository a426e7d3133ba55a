"""Every kernel call the runtime makes that Python's os module lacks, behind one object.

The container init code receives a `Syscalls` instance instead of calling libc itself, so
unit tests can hand it a `RecordingSyscalls` and check the sequence without root. Errors
come back as OSError with errno and the call's arguments, like the os module's own.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

# Namespace flags (linux/sched.h).
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

# Mount flags (linux/mount.h).
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_POSIXACL = 1 << 16
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_I_VERSION = 1 << 23
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25
MNT_DETACH = 2

PROPAGATION_FLAGS = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE

# prctl options (linux/prctl.h).
PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# Terminal ioctls (asm-generic/ioctls.h).
TIOCSCTTY = 0x540E
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


# seccomp(2): its number per machine, and SECCOMP_SET_MODE_FILTER.
_SYS_SECCOMP = {"x86_64": 317, "aarch64": 277, "i686": 354, "armv7l": 383, "ppc64le": 358, "s390x": 348,
                "riscv64": 277}
SECCOMP_SET_MODE_FILTER = 1


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str, *names: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", *names[:1])
    return result


def _cstr(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


class Syscalls:
    """The real kernel: thin wrappers over libc through ctypes."""

    def unshare(self, flags: int) -> None:
        _check(_lib().unshare(ctypes.c_int(flags)), f"unshare({flags:#x})")

    def setns(self, fd: int, nstype: int = 0) -> None:
        _check(_lib().setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")

    def mount(
        self,
        source: str | None,
        target: str,
        fstype: str | None,
        flags: int = 0,
        data: str | None = None,
    ) -> None:
        result = _lib().mount(
            _cstr(source), _cstr(target), _cstr(fstype), ctypes.c_ulong(flags), _cstr(data)
        )
        if result < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mount {source or fstype or ''} on {target}: {os.strerror(err)}")

    def umount2(self, target: str, flags: int = 0) -> None:
        result = _lib().umount2(_cstr(target), ctypes.c_int(flags))
        if result < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"umount {target}: {os.strerror(err)}")

    def pivot_root(self, new_root: str, put_old: str) -> None:
        result = _lib().pivot_root(_cstr(new_root), _cstr(put_old))
        if result < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"pivot_root {new_root}: {os.strerror(err)}")

    def sethostname(self, name: str) -> None:
        raw = name.encode()
        _check(_lib().sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")

    def setdomainname(self, name: str) -> None:
        raw = name.encode()
        _check(_lib().setdomainname(raw, ctypes.c_size_t(len(raw))), "setdomainname")

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
        return _check(
            _lib().prctl(
                ctypes.c_int(option),
                ctypes.c_ulong(arg2),
                ctypes.c_ulong(arg3),
                ctypes.c_ulong(arg4),
                ctypes.c_ulong(arg5),
            ),
            f"prctl({option})",
        )

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        for index in range(2):
            shift = 32 * index
            data[index].effective = (effective >> shift) & 0xFFFFFFFF
            data[index].permitted = (permitted >> shift) & 0xFFFFFFFF
            data[index].inheritable = (inheritable >> shift) & 0xFFFFFFFF
        _check(_lib().capset(ctypes.byref(header), data), "capset")

    def set_interface_up(self, name: str) -> None:
        """Bring a network interface up (the loopback of a new network namespace)."""
        import fcntl
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            request = struct.pack("16sh14x", name.encode(), 0)
            flags = struct.unpack("16sh14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
            fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh14x", name.encode(), flags | IFF_UP))

    def set_controlling_terminal(self, fd: int) -> None:
        import fcntl

        fcntl.ioctl(fd, TIOCSCTTY, 0)


    def seccomp_set_filter(self, flags: int, program: bytes) -> None:
        """Install a classic BPF program (8-byte instructions) as this thread's filter."""
        number = _SYS_SECCOMP.get(os.uname().machine)
        if number is None:
            raise OSError(errno.ENOSYS, f"seccomp: no syscall number known for {os.uname().machine}")
        buffer = ctypes.create_string_buffer(program, len(program))
        fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
        result = _lib().syscall(
            ctypes.c_long(number), ctypes.c_uint(SECCOMP_SET_MODE_FILTER), ctypes.c_uint(flags),
            ctypes.byref(fprog),
        )
        _check(result, "seccomp(SECCOMP_SET_MODE_FILTER)")


class RecordingSyscalls(Syscalls):
    """A fake kernel for unit tests: records each call and succeeds (or fails on demand)."""

    def __init__(self, fail: dict[str, OSError] | None = None) -> None:
        self.calls: list[tuple] = []
        self.fail = fail or {}

    def _record(self, name: str, *args: object) -> None:
        self.calls.append((name, *args))
        if name in self.fail:
            raise self.fail[name]

    def unshare(self, flags: int) -> None:
        self._record("unshare", flags)

    def setns(self, fd: int, nstype: int = 0) -> None:
        self._record("setns", fd, nstype)

    def mount(self, source, target, fstype, flags=0, data=None) -> None:
        self._record("mount", source, target, fstype, flags, data)

    def umount2(self, target: str, flags: int = 0) -> None:
        self._record("umount2", target, flags)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self._record("pivot_root", new_root, put_old)

    def sethostname(self, name: str) -> None:
        self._record("sethostname", name)

    def setdomainname(self, name: str) -> None:
        self._record("setdomainname", name)

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
        self._record("prctl", option, arg2, arg3, arg4, arg5)
        return 0

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        self._record("capset", effective, permitted, inheritable)

    def set_interface_up(self, name: str) -> None:
        self._record("set_interface_up", name)

    def set_controlling_terminal(self, fd: int) -> None:
        self._record("set_controlling_terminal", fd)

    def seccomp_set_filter(self, flags: int, program: bytes) -> None:
        self._record("seccomp_set_filter", flags, program)
