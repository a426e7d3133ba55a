"""Device rules on cgroup v2: compile them to a BPF_PROG_TYPE_CGROUP_DEVICE program, then load
and attach it with bpf(2).

Compiling is pure (`emulate`, `build_program`, `encode`) and runs anywhere. The rules are
first reduced the way the v1 devices controller would apply them in order (a default, allow
or deny, plus exceptions), so that v1 and v2 containers see the same devices; a deny that
would punch a hole in a wildcard exception is refused, since v1 would silently ignore it.

The program reads `struct bpf_cgroup_dev_ctx {u32 access_type; u32 major; u32 minor;}`
(access_type = access << 16 | type), tries one block per exception and falls through to
the default: it returns 1 to allow and 0 to deny.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from typing import NamedTuple

from estiba.errors import InvalidArgument, SystemFault, Unavailable, Unsupported
from estiba.runtime.cgroups.base import DeviceRule

# struct bpf_cgroup_dev_ctx values
DEV_BLOCK, DEV_CHAR = 1, 2
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4
ACCESS_BITS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}
DEVICE_TYPES = {"b": DEV_BLOCK, "c": DEV_CHAR}

# Opcodes (class | op | source) of the few instructions the program uses.
LDX_MEM_W = 0x61  # dst = *(u32 *)(src + off)
AND32_IMM = 0x54  # dst &= imm
RSH32_IMM = 0x74  # dst >>= imm
MOV32_REG = 0xBC  # dst = src
MOV32_IMM = 0xB4  # dst = imm
JNE_IMM = 0x55  # if dst != imm: pc += off
JNE_REG = 0x5D  # if dst != src: pc += off
EXIT = 0x95  # return r0

R0, R1, R2, R3, R4, R5 = range(6)


class Insn(NamedTuple):
    code: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0


Key = tuple[str, "int | None", "int | None"]  # (type, major, minor); None is "*"


def emulate(rules: Sequence[DeviceRule]) -> tuple[bool, dict[Key, str]]:
    """Apply `rules` in order from deny-all; return (default_allow, exception -> access)."""
    default_allow = False
    exceptions: dict[Key, set[str]] = {}
    for rule in rules:
        if rule.type == "a":
            # "a" rewrites the default and forgets every exception, as in v1.
            default_allow = rule.allow
            exceptions = {}
            continue
        key = (rule.type, rule.major, rule.minor)
        access = set(rule.access)
        if rule.allow != default_allow:
            exceptions.setdefault(key, set()).update(access)
            continue
        for wider in ((rule.type, None, rule.minor), (rule.type, rule.major, None), (rule.type, None, None)):
            if wider != key and exceptions.get(wider, set()) & access:
                raise InvalidArgument(
                    f"linux.resources.devices: rule {rule.v1_line()!r} cannot punch a hole in"
                    f" the wider rule {_line(wider, exceptions[wider])!r}",
                    hint="list the narrower rules instead of the wildcard",
                )
        remaining = exceptions.get(key, set()) - access
        if remaining:
            exceptions[key] = remaining
        else:
            exceptions.pop(key, None)
    return default_allow, {
        key: "".join(c for c in "rwm" if c in access)
        for key, access in sorted(exceptions.items(), key=_sort_key)
    }


def _sort_key(item) -> tuple:
    (kind, major, minor), _access = item
    return (-1 if major is None else major, -1 if minor is None else minor, kind)


def _line(key: Key, access) -> str:
    kind, major, minor = key
    return DeviceRule(True, kind, major, minor, "".join(sorted(access))).v1_line()


def build_program(rules: Sequence[DeviceRule]) -> list[Insn]:
    """The BPF program enforcing `rules` (OCI order semantics, starting from deny-all)."""
    default_allow, exceptions = emulate(rules)
    verdict = 0 if default_allow else 1  # what an exception does
    program = [
        Insn(LDX_MEM_W, R2, R1, 0),  # r2 = device type: low 16 bits of access_type
        Insn(AND32_IMM, R2, imm=0xFFFF),
        Insn(LDX_MEM_W, R3, R1, 0),  # r3 = requested access: high 16 bits
        Insn(RSH32_IMM, R3, imm=16),
        Insn(LDX_MEM_W, R4, R1, 4),  # r4 = major
        Insn(LDX_MEM_W, R5, R1, 8),  # r5 = minor
    ]
    for (kind, major, minor), access in exceptions.items():
        # Each test jumps to the next block on mismatch; offsets are fixed once the
        # block's length is known (jump targets are relative to the next instruction).
        block = [Insn(JNE_IMM, R2, imm=DEVICE_TYPES[kind])]
        bits = sum(ACCESS_BITS[c] for c in access)
        if bits != ACC_MKNOD | ACC_READ | ACC_WRITE:
            # Skip unless every requested bit is among the rule's: (r3 & bits) == r3.
            block += [Insn(MOV32_REG, R1, R3), Insn(AND32_IMM, R1, imm=bits), Insn(JNE_REG, R1, R3)]
        if major is not None:
            block.append(Insn(JNE_IMM, R4, imm=major))
        if minor is not None:
            block.append(Insn(JNE_IMM, R5, imm=minor))
        block += [Insn(MOV32_IMM, R0, imm=verdict), Insn(EXIT)]
        end = len(block)
        program += [
            insn._replace(off=end - (i + 1)) if insn.code in (JNE_IMM, JNE_REG) else insn
            for i, insn in enumerate(block)
        ]
    program += [Insn(MOV32_IMM, R0, imm=1 if default_allow else 0), Insn(EXIT)]
    return program


def encode(program: Sequence[Insn]) -> bytes:
    """struct bpf_insn {u8 code; u8 dst:4, src:4; s16 off; s32 imm;} in host (little) endian."""
    return b"".join(
        struct.pack("<BBhi", insn.code, (insn.src << 4) | insn.dst, insn.off, insn.imm)
        for insn in program
    )


# ---- bpf(2) ------------------------------------------------------------------------------

BPF_PROG_LOAD, BPF_PROG_ATTACH, BPF_PROG_DETACH = 5, 8, 9
BPF_PROG_GET_FD_BY_ID, BPF_PROG_QUERY = 13, 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
SYSCALL_BPF = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "ppc64le": 361, "s390x": 351}
LICENSE = b"Apache-2.0\0"
LOG_SIZE = 64 * 1024


def load_and_attach(cgroup_dir: str, program: Sequence[Insn]) -> None:
    """Load `program` and make it the cgroup's device filter, replacing earlier ones.

    The new filter is attached before the old ones are detached, so there is no moment
    without a filter. Needs CAP_BPF (or CAP_SYS_ADMIN).
    """
    bpf = _Bpf()
    prog_fd = bpf.prog_load(encode(program))
    try:
        try:
            dir_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise SystemFault(f"cgroup {cgroup_dir}: cannot open: {exc.strerror}") from exc
        try:
            old_ids = bpf.query(dir_fd, cgroup_dir)
            bpf.attach_or_detach(BPF_PROG_ATTACH, dir_fd, prog_fd, BPF_F_ALLOW_MULTI, cgroup_dir)
            for prog_id in old_ids:
                old_fd = bpf.get_fd_by_id(prog_id, cgroup_dir)
                try:
                    bpf.attach_or_detach(BPF_PROG_DETACH, dir_fd, old_fd, 0, cgroup_dir)
                finally:
                    os.close(old_fd)
        finally:
            os.close(dir_fd)
    finally:
        os.close(prog_fd)


class _Bpf:
    """Thin ctypes calls of bpf(2), each command with its slice of union bpf_attr."""

    def __init__(self) -> None:
        import ctypes
        import platform

        number = SYSCALL_BPF.get(platform.machine())
        if number is None:
            raise Unsupported(f"device filters: bpf(2) number unknown on {platform.machine()}")
        self._ctypes = ctypes
        self._number = number
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.syscall.restype = ctypes.c_long

    def _call(self, cmd: int, attr) -> int:
        ctypes = self._ctypes
        result = self._libc.syscall(
            ctypes.c_long(self._number),
            ctypes.c_int(cmd),
            ctypes.byref(attr),
            ctypes.c_uint(ctypes.sizeof(attr)),
        )
        if result < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        return result

    def prog_load(self, code: bytes) -> int:
        ctypes = self._ctypes
        insns = ctypes.create_string_buffer(code, len(code))
        license_ = ctypes.create_string_buffer(LICENSE, len(LICENSE))
        log = ctypes.create_string_buffer(LOG_SIZE)
        attr = ctypes.create_string_buffer(72)
        struct.pack_into(
            "<IIQQIIQII16s",
            attr,
            0,
            BPF_PROG_TYPE_CGROUP_DEVICE,
            len(code) // 8,
            ctypes.addressof(insns),
            ctypes.addressof(license_),
            1,  # log_level: the verifier explains a refusal
            LOG_SIZE,
            ctypes.addressof(log),
            0,
            0,
            b"estiba_devices",
        )
        try:
            return self._call(BPF_PROG_LOAD, attr)
        except OSError as exc:
            detail = log.value.decode(errors="replace").strip().splitlines()
            reason = f" ({detail[-1]})" if detail else ""
            kind = Unavailable if exc.errno in (1, 38) else SystemFault  # EPERM, ENOSYS
            raise kind(f"cannot load the device filter: {exc.strerror}{reason}") from exc

    def query(self, dir_fd: int, where: str) -> list[int]:
        ctypes = self._ctypes
        ids = (ctypes.c_uint32 * 64)()
        attr = ctypes.create_string_buffer(32)
        struct.pack_into("<IIIIQI", attr, 0, dir_fd, BPF_CGROUP_DEVICE, 0, 0, ctypes.addressof(ids), 64)
        try:
            self._call(BPF_PROG_QUERY, attr)
        except OSError as exc:
            raise SystemFault(f"cgroup {where}: cannot list device filters: {exc.strerror}") from exc
        count = struct.unpack_from("<I", attr, 24)[0]
        return list(ids[: min(count, 64)])

    def get_fd_by_id(self, prog_id: int, where: str) -> int:
        attr = self._ctypes.create_string_buffer(16)
        struct.pack_into("<I", attr, 0, prog_id)
        try:
            return self._call(BPF_PROG_GET_FD_BY_ID, attr)
        except OSError as exc:
            raise SystemFault(
                f"cgroup {where}: cannot open old device filter {prog_id}: {exc.strerror}"
            ) from exc

    def attach_or_detach(self, cmd: int, dir_fd: int, prog_fd: int, flags: int, where: str) -> None:
        attr = self._ctypes.create_string_buffer(20)
        struct.pack_into("<IIII", attr, 0, dir_fd, prog_fd, BPF_CGROUP_DEVICE, flags)
        try:
            self._call(cmd, attr)
        except OSError as exc:
            verb = "attach" if cmd == BPF_PROG_ATTACH else "detach"
            raise SystemFault(f"cgroup {where}: cannot {verb} the device filter: {exc.strerror}") from exc
