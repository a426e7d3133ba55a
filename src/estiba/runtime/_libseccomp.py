"""The ctypes binding to libseccomp.so.2: a filter context and the few library calls we use.

Nothing here knows about OCI. Failures come back as OSError carrying the errno that
libseccomp returned; `seccomp.py` translates them into Estiba's error kinds with context.
The shared library is opened once, on first use, so that a context built before
pivot_root can still be loaded after the host filesystem is gone.
"""

from __future__ import annotations

import ctypes
import errno
import os

from estiba.errors import Unavailable

LIBRARY_NAME = "libseccomp.so.2"

# Filter attributes (enum scmp_filter_attr in seccomp.h, libseccomp 2.5).
ATTR_ACT_DEFAULT = 1
ATTR_ACT_BADARCH = 2
ATTR_CTL_NNP = 3
ATTR_CTL_TSYNC = 4
ATTR_API_TSKIP = 5
ATTR_CTL_LOG = 6
ATTR_CTL_SSB = 7
ATTR_CTL_OPTIMIZE = 8
ATTR_API_SYSRAWRC = 9

NR_SCMP_ERROR = -1


class ArgCmp(ctypes.Structure):
    """struct scmp_arg_cmp: one comparison on one syscall argument."""

    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]


_lib: ctypes.CDLL | None = None


def library() -> ctypes.CDLL:
    """Open libseccomp once and declare the signatures of the functions we call."""
    global _lib
    if _lib is not None:
        return _lib
    try:
        lib = ctypes.CDLL(LIBRARY_NAME, use_errno=True)
    except OSError as exc:
        raise Unavailable(
            f"seccomp: cannot load {LIBRARY_NAME}", hint="install libseccomp2 (2.5 or later)"
        ) from exc
    ctx = ctypes.c_void_p
    signatures = {
        "seccomp_init": ([ctypes.c_uint32], ctx),
        "seccomp_release": ([ctx], None),
        "seccomp_arch_add": ([ctx, ctypes.c_uint32], ctypes.c_int),
        "seccomp_arch_remove": ([ctx, ctypes.c_uint32], ctypes.c_int),
        "seccomp_arch_exist": ([ctx, ctypes.c_uint32], ctypes.c_int),
        "seccomp_arch_native": ([], ctypes.c_uint32),
        "seccomp_arch_resolve_name": ([ctypes.c_char_p], ctypes.c_uint32),
        "seccomp_syscall_resolve_name": ([ctypes.c_char_p], ctypes.c_int),
        "seccomp_rule_add_array": (
            [ctx, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(ArgCmp)],
            ctypes.c_int,
        ),
        "seccomp_attr_set": ([ctx, ctypes.c_int, ctypes.c_uint32], ctypes.c_int),
        "seccomp_attr_get": ([ctx, ctypes.c_int, ctypes.POINTER(ctypes.c_uint32)], ctypes.c_int),
        "seccomp_load": ([ctx], ctypes.c_int),
        "seccomp_export_bpf": ([ctx, ctypes.c_int], ctypes.c_int),
        "seccomp_export_pfc": ([ctx, ctypes.c_int], ctypes.c_int),
        "seccomp_api_get": ([], ctypes.c_uint),
        "seccomp_version": ([], ctypes.POINTER(_Version)),
    }
    for name, (argtypes, restype) in signatures.items():
        function = getattr(lib, name)
        function.argtypes = argtypes
        function.restype = restype
    _lib = lib
    return lib


def _check(rc: int, what: str) -> None:
    """libseccomp returns 0 or a negated errno; the OSError's filename names the call."""
    if rc < 0:
        raise OSError(-rc, os.strerror(-rc), what)


def version() -> tuple[int, int, int]:
    v = library().seccomp_version().contents
    return (v.major, v.minor, v.micro)


def api_level() -> int:
    return int(library().seccomp_api_get())


def arch_native() -> int:
    return int(library().seccomp_arch_native())


def arch_resolve_name(name: str) -> int:
    """Token of the named architecture ("x86_64", "aarch64"), 0 when libseccomp does not know it."""
    return int(library().seccomp_arch_resolve_name(name.encode()))


def syscall_resolve_name(name: str) -> int | None:
    """Native number (or libseccomp pseudo number) of a syscall; None when unknown."""
    number = int(library().seccomp_syscall_resolve_name(name.encode()))
    return None if number == NR_SCMP_ERROR else number


class Context:
    """An owned scmp_filter_ctx. release() frees it; every other call needs it alive."""

    def __init__(self, default_action: int) -> None:
        self._lib = library()
        handle = self._lib.seccomp_init(default_action)
        if not handle:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), f"seccomp_init({default_action:#x})")
        self._handle: int | None = handle

    def _ctx(self) -> int:
        if self._handle is None:
            raise ValueError("libseccomp context already released")
        return self._handle

    def arch_add(self, token: int) -> None:
        """Add an architecture; one already present (the native one, say) is not an error."""
        rc = self._lib.seccomp_arch_add(self._ctx(), token)
        if rc == -errno.EEXIST:
            return
        _check(rc, f"seccomp_arch_add({token:#x})")

    def arch_remove(self, token: int) -> None:
        _check(self._lib.seccomp_arch_remove(self._ctx(), token), f"seccomp_arch_remove({token:#x})")

    def arch_exists(self, token: int) -> bool:
        rc = self._lib.seccomp_arch_exist(self._ctx(), token)
        if rc == -errno.EEXIST:  # seccomp_arch_exist's way of saying "not in the filter"
            return False
        _check(rc, f"seccomp_arch_exist({token:#x})")
        return True

    def attr_set(self, attr: int, value: int) -> None:
        _check(self._lib.seccomp_attr_set(self._ctx(), attr, value), f"seccomp_attr_set({attr})")

    def attr_get(self, attr: int) -> int:
        value = ctypes.c_uint32()
        _check(
            self._lib.seccomp_attr_get(self._ctx(), attr, ctypes.byref(value)),
            f"seccomp_attr_get({attr})",
        )
        return value.value

    def rule_add(self, action: int, syscall: int, conditions: list[tuple[int, int, int, int]]) -> None:
        """Add one rule; conditions are (arg index, operator, datum_a, datum_b), all ANDed."""
        array = (ArgCmp * max(len(conditions), 1))(*(ArgCmp(*c) for c in conditions))
        rc = self._lib.seccomp_rule_add_array(self._ctx(), action, syscall, len(conditions), array)
        _check(rc, f"seccomp_rule_add_array(syscall {syscall})")

    def load(self) -> None:
        """Install the filter in the calling thread; opens no file."""
        _check(self._lib.seccomp_load(self._ctx()), "seccomp_load")

    def export_bpf(self, fd: int) -> None:
        _check(self._lib.seccomp_export_bpf(self._ctx(), fd), "seccomp_export_bpf")

    def export_pfc(self, fd: int) -> None:
        _check(self._lib.seccomp_export_pfc(self._ctx(), fd), "seccomp_export_pfc")

    def release(self) -> None:
        if self._handle is not None:
            self._lib.seccomp_release(self._handle)
            self._handle = None
