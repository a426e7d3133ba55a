"""Seccomp for containers: the OCI `linux.seccomp` section, turned into a libseccomp filter.

Lifecycle, as the runtime's init uses it:

1. `SeccompConfig.from_spec(spec["linux"]["seccomp"])` parses and validates (pure).
2. `build(config)` makes the libseccomp context with every rule. Call it before pivot_root:
   it is the step that opens libseccomp.so from the host.
3. `SeccompFilter.load()` installs the filter, right before execve. It opens no file.
   Without no_new_privs the kernel wants CAP_SYS_ADMIN here, so load before dropping
   capabilities unless `process.noNewPrivileges` is set.
4. `SeccompFilter.release()` frees the context (or use the filter as a context manager).

The runtime itself uses `compile_filter(config, cache_dir)`: the BPF program libseccomp
generates for the config, kept in a cache keyed by the config, libseccomp's version,
the native arch and the kernel's seccomp API level, and installed with seccomp(2)
directly. Building Docker's default profile through libseccomp costs 10-40 ms here, for
every container; a cached program costs a file read.

Filters are built the way runc 1.1.5 builds them, so that `--runtime runc` behaves the same.
The engine side turns Docker's profile format into `linux.seccomp` with
`docker_profile_to_oci`.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from estiba.errors import InvalidArgument, SystemFault, Unsupported

if TYPE_CHECKING:
    from estiba.runtime import _libseccomp

MAX_SYSCALL_ARGS = 6
# runc turns on libseccomp's binary-tree optimisation past this many syscall names.
OPTIMIZE_THRESHOLD = 32


class Action(StrEnum):
    KILL = "SCMP_ACT_KILL"
    KILL_PROCESS = "SCMP_ACT_KILL_PROCESS"
    KILL_THREAD = "SCMP_ACT_KILL_THREAD"
    TRAP = "SCMP_ACT_TRAP"
    ERRNO = "SCMP_ACT_ERRNO"
    TRACE = "SCMP_ACT_TRACE"
    ALLOW = "SCMP_ACT_ALLOW"
    LOG = "SCMP_ACT_LOG"
    NOTIFY = "SCMP_ACT_NOTIFY"


class Operator(StrEnum):
    NE = "SCMP_CMP_NE"
    LT = "SCMP_CMP_LT"
    LE = "SCMP_CMP_LE"
    EQ = "SCMP_CMP_EQ"
    GE = "SCMP_CMP_GE"
    GT = "SCMP_CMP_GT"
    MASKED_EQ = "SCMP_CMP_MASKED_EQ"


class Flag(StrEnum):
    TSYNC = "SECCOMP_FILTER_FLAG_TSYNC"
    LOG = "SECCOMP_FILTER_FLAG_LOG"
    SPEC_ALLOW = "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
    WAIT_KILLABLE_RECV = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"


class Arch(StrEnum):
    X86 = "SCMP_ARCH_X86"
    X86_64 = "SCMP_ARCH_X86_64"
    X32 = "SCMP_ARCH_X32"
    ARM = "SCMP_ARCH_ARM"
    AARCH64 = "SCMP_ARCH_AARCH64"
    LOONGARCH64 = "SCMP_ARCH_LOONGARCH64"
    M68K = "SCMP_ARCH_M68K"
    MIPS = "SCMP_ARCH_MIPS"
    MIPS64 = "SCMP_ARCH_MIPS64"
    MIPS64N32 = "SCMP_ARCH_MIPS64N32"
    MIPSEL = "SCMP_ARCH_MIPSEL"
    MIPSEL64 = "SCMP_ARCH_MIPSEL64"
    MIPSEL64N32 = "SCMP_ARCH_MIPSEL64N32"
    PPC = "SCMP_ARCH_PPC"
    PPC64 = "SCMP_ARCH_PPC64"
    PPC64LE = "SCMP_ARCH_PPC64LE"
    S390 = "SCMP_ARCH_S390"
    S390X = "SCMP_ARCH_S390X"
    SH = "SCMP_ARCH_SH"
    SHEB = "SCMP_ARCH_SHEB"
    PARISC = "SCMP_ARCH_PARISC"
    PARISC64 = "SCMP_ARCH_PARISC64"
    RISCV64 = "SCMP_ARCH_RISCV64"

    @property
    def libseccomp_name(self) -> str:
        """The name seccomp_arch_resolve_name knows: "SCMP_ARCH_X86_64" -> "x86_64"."""
        return self.value.removeprefix("SCMP_ARCH_").lower()


# Kernel return values (seccomp.h); ERRNO and TRACE carry a 16-bit data field.
_ACTION_BASE = {
    Action.KILL: 0x00000000,  # libseccomp's SCMP_ACT_KILL is KILL_THREAD
    Action.KILL_THREAD: 0x00000000,
    Action.KILL_PROCESS: 0x80000000,
    Action.TRAP: 0x00030000,
    Action.ERRNO: 0x00050000,
    Action.TRACE: 0x7FF00000,
    Action.LOG: 0x7FFC0000,
    Action.ALLOW: 0x7FFF0000,
    Action.NOTIFY: 0x7FC00000,
}
_OPERATOR_CODE = {op: code for code, op in enumerate(Operator, start=1)}  # enum scmp_compare
_FLAG_ATTRIBUTE_NAME = {Flag.TSYNC: "ATTR_CTL_TSYNC", Flag.LOG: "ATTR_CTL_LOG", Flag.SPEC_ALLOW: "ATTR_CTL_SSB"}


class SyscallArg(NamedTuple):
    """One comparison on a syscall argument. For MASKED_EQ, value is the mask."""

    index: int
    value: int
    op: Operator
    value_two: int = 0


class SyscallRule(NamedTuple):
    """One `linux.seccomp.syscalls[]` entry: an action for some syscalls, if all args match."""

    names: tuple[str, ...]
    action: Action
    errno_ret: int | None = None
    args: tuple[SyscallArg, ...] = ()


class SeccompConfig(NamedTuple):
    """The OCI `linux.seccomp` section, validated."""

    default_action: Action
    default_errno_ret: int | None = None
    architectures: tuple[Arch, ...] = ()
    flags: tuple[Flag, ...] = ()
    listener_path: str | None = None
    listener_metadata: str | None = None
    syscalls: tuple[SyscallRule, ...] = ()

    @classmethod
    def from_spec(cls, spec: dict[str, Any], *, where: str = "linux.seccomp") -> SeccompConfig:
        """Parse `linux.seccomp`; InvalidArgument names the bad field, Unsupported what we lack."""
        _require(isinstance(spec, dict), where, "must be an object")
        if "defaultAction" not in spec:
            raise InvalidArgument(f"{where}.defaultAction: required")
        config = cls(
            default_action=_enum(Action, spec["defaultAction"], f"{where}.defaultAction", "action"),
            default_errno_ret=_errno(spec.get("defaultErrnoRet"), f"{where}.defaultErrnoRet"),
            architectures=tuple(
                _enum(Arch, a, f"{where}.architectures[{i}]", "architecture")
                for i, a in enumerate(_array(spec.get("architectures"), f"{where}.architectures"))
            ),
            flags=tuple(
                _enum(Flag, f, f"{where}.flags[{i}]", "flag")
                for i, f in enumerate(_array(spec.get("flags"), f"{where}.flags"))
            ),
            listener_path=_optional_str(spec.get("listenerPath"), f"{where}.listenerPath"),
            listener_metadata=_optional_str(spec.get("listenerMetadata"), f"{where}.listenerMetadata"),
            syscalls=tuple(
                _parse_syscall(s, f"{where}.syscalls[{i}]")
                for i, s in enumerate(_array(spec.get("syscalls"), f"{where}.syscalls"))
            ),
        )
        _check_supported(config, where)
        return config


def _parse_syscall(spec: Any, where: str) -> SyscallRule:
    _require(isinstance(spec, dict), where, "must be an object")
    _require("names" in spec, f"{where}.names", "required")
    names = _array(spec["names"], f"{where}.names")
    _require(len(names) > 0, f"{where}.names", "must list at least one syscall")
    for i, name in enumerate(names):
        _require(isinstance(name, str) and name != "", f"{where}.names[{i}]", "must be a syscall name")
    _require("action" in spec, f"{where}.action", "required")
    return SyscallRule(
        names=tuple(names),
        action=_enum(Action, spec["action"], f"{where}.action", "action"),
        errno_ret=_errno(spec.get("errnoRet"), f"{where}.errnoRet"),
        args=tuple(
            _parse_arg(a, f"{where}.args[{i}]")
            for i, a in enumerate(_array(spec.get("args"), f"{where}.args"))
        ),
    )


def _parse_arg(spec: Any, where: str) -> SyscallArg:
    _require(isinstance(spec, dict), where, "must be an object")
    for key in ("index", "value", "op"):
        _require(key in spec, f"{where}.{key}", "required")
    index = _uint(spec["index"], f"{where}.index", 32)
    _require(index < MAX_SYSCALL_ARGS, f"{where}.index", f"{index} is out of range: syscall arguments are 0-5")
    return SyscallArg(
        index=index,
        value=_uint(spec["value"], f"{where}.value", 64),
        op=_enum(Operator, spec["op"], f"{where}.op", "operator"),
        value_two=_uint(spec.get("valueTwo", 0), f"{where}.valueTwo", 64),
    )


_E = TypeVar("_E", bound=StrEnum)


def _require(ok: bool, where: str, message: str) -> None:
    if not ok:
        raise InvalidArgument(f"{where}: {message}")


def _enum(kind: type[_E], value: Any, where: str, what: str) -> _E:
    if not isinstance(value, str):
        raise InvalidArgument(f"{where}: {what} must be a string, not {type(value).__name__}")
    try:
        return kind(value)
    except ValueError:
        raise InvalidArgument(f'{where}: unknown {what} "{value}"') from None


def _array(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    _require(isinstance(value, list), where, "must be an array")
    return value


def _uint(value: Any, where: str, bits: int) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < (1 << bits)
    _require(ok, where, f"must be an unsigned {bits}-bit integer, not {value!r}")
    return value


def _errno(value: Any, where: str) -> int | None:
    if value is None:
        return None
    number = _uint(value, where, 32)
    # The kernel keeps 16 bits of SECCOMP_RET_DATA; runc would silently truncate.
    _require(number <= 0xFFFF, where, f"{number} does not fit the 16-bit errno of a seccomp return")
    return number


def _optional_str(value: Any, where: str) -> str | None:
    _require(value is None or isinstance(value, str), where, "must be a string")
    return value or None


def _check_supported(config: SeccompConfig, where: str = "linux.seccomp") -> None:
    """Refuse seccomp user notification (listener, SCMP_ACT_NOTIFY, its flag): not implemented."""
    found = [f"{where}.listenerPath"] if config.listener_path is not None else []
    if config.default_action is Action.NOTIFY:
        found.append(f"{where}.defaultAction")
    found += [f"{where}.syscalls[{i}].action" for i, r in enumerate(config.syscalls) if r.action is Action.NOTIFY]
    if Flag.WAIT_KILLABLE_RECV in config.flags:
        found.append(f"{where}.flags")
    if found:
        message = f"{found[0]}: seccomp user notification is not supported by estiba-runtime"
        raise Unsupported(message, hint="remove it from the seccomp profile")


def action_value(action: Action, errno_ret: int | None = None) -> int:
    """The 32-bit kernel return value of an action; ERRNO and TRACE carry errno_ret (default EPERM)."""
    value = _ACTION_BASE[action]
    if action in (Action.ERRNO, Action.TRACE):
        value |= (errno.EPERM if errno_ret is None else errno_ret) & 0xFFFF
    return value


# -- planning: which libseccomp rules a config becomes (pure, given a syscall resolver) --


class FilterRule(NamedTuple):
    """One seccomp_rule_add_array call: conditions are ANDed, distinct rules are ORed."""

    syscall: str
    number: int
    action: int
    conditions: tuple[SyscallArg, ...]
    entry: int  # index in linux.seccomp.syscalls, for error messages


class RulePlan(NamedTuple):
    rules: tuple[FilterRule, ...]
    unknown_syscalls: tuple[str, ...]  # not known to libseccomp: skipped, as runc does
    redundant_syscalls: tuple[str, ...]  # action equals the default action: skipped


def plan_rules(config: SeccompConfig, resolve_syscall: Callable[[str], int | None]) -> RulePlan:
    """Turn the config into libseccomp rules, the way runc 1.1.5 does.

    resolve_syscall maps a name to its number (libseccomp's, on the native arch), or None.
    """
    default = action_value(config.default_action, config.default_errno_ret)
    rules: list[FilterRule] = []
    unknown: list[str] = []
    redundant: list[str] = []
    for entry, rule in enumerate(config.syscalls):
        action = action_value(rule.action, rule.errno_ret)
        for name in rule.names:
            if action == default:
                # libseccomp refuses a rule whose action is the default one.
                redundant.append(name)
                continue
            number = resolve_syscall(name)
            if number is None:
                # Profiles list syscalls of newer kernels and other arches; runc skips them.
                unknown.append(name)
                continue
            indexes = [arg.index for arg in rule.args]
            if len(set(indexes)) == len(indexes):
                rules.append(FilterRule(name, number, action, rule.args, entry))
            else:
                # libseccomp rejects two conditions on one argument in a rule; runc then
                # adds each condition as a rule of its own (so they are ORed, not ANDed).
                rules.extend(FilterRule(name, number, action, (arg,), entry) for arg in rule.args)
    return RulePlan(tuple(rules), tuple(unknown), tuple(redundant))


# -- applying: the libseccomp context --


class SeccompFilter:
    """A libseccomp filter context with all its rules, not yet in the kernel.

    load() installs it in the calling process (once, right before execve); release() frees
    the context. Both are safe after a fork: the filter lives in this process's memory.
    """

    def __init__(self, context: _libseccomp.Context, plan: RulePlan) -> None:
        self._context = context
        self.plan = plan

    def load(self) -> None:
        """Install the filter. Opens no file: the host filesystem may be gone by now."""
        try:
            self._context.load()
        except OSError as exc:
            raise _refused(exc) from exc

    def export_bpf(self) -> bytes:
        """The BPF program that load() would install (for tests and debugging)."""
        return self._export(self._context.export_bpf)

    def export_pfc(self) -> str:
        """The filter as libseccomp's readable pseudo filter code (for tests and debugging)."""
        return self._export(self._context.export_pfc).decode()

    @staticmethod
    def _export(export: Callable[[int], None]) -> bytes:
        fd = os.memfd_create("estiba-seccomp-export")
        try:
            try:
                export(fd)
            except OSError as exc:
                raise SystemFault(f"seccomp: cannot export the filter: {exc.strerror}") from exc
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def release(self) -> None:
        self._context.release()

    def __enter__(self) -> SeccompFilter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def build(config: SeccompConfig) -> SeccompFilter:
    """Create the libseccomp context for config with all its rules; nothing is loaded yet."""
    _check_supported(config)
    from estiba.runtime import _libseccomp as lib  # ctypes only when a filter is built

    default = action_value(config.default_action, config.default_errno_ret)
    try:
        context = lib.Context(default)
    except OSError as exc:
        raise InvalidArgument(f"linux.seccomp.defaultAction: libseccomp refused {config.default_action}") from exc
    try:
        for arch in config.architectures:
            token = lib.arch_resolve_name(arch.libseccomp_name)
            if token == 0:
                message = f"linux.seccomp.architectures: {arch} is not known to libseccomp {_version(lib)}"
                raise Unsupported(message)
            _apply(f"linux.seccomp.architectures: cannot add {arch}", context.arch_add, token)
        for flag in config.flags:
            attribute = getattr(lib, _FLAG_ATTRIBUTE_NAME[flag])
            _apply(f"linux.seccomp.flags: cannot set {flag}", context.attr_set, attribute, 1)
        if sum(len(rule.names) for rule in config.syscalls) > OPTIMIZE_THRESHOLD:
            _try(context.attr_set, lib.ATTR_CTL_OPTIMIZE, 2)  # older libseccomp: linear is fine
        # Never set no_new_privs behind the runtime's back: process.noNewPrivileges decides.
        _apply("seccomp: cannot unset no_new_privs", context.attr_set, lib.ATTR_CTL_NNP, 0)
        # Report the kernel's errno from seccomp_load rather than a generic ECANCELED.
        _try(context.attr_set, lib.ATTR_API_SYSRAWRC, 1)
        plan = plan_rules(config, lib.syscall_resolve_name)
        for rule in plan.rules:
            conditions = [(a.index, _OPERATOR_CODE[a.op], a.value, a.value_two) for a in rule.conditions]
            what = f'linux.seccomp.syscalls[{rule.entry}]: cannot add the rule for "{rule.syscall}"'
            _apply(what, context.rule_add, rule.action, rule.number, conditions)
    except BaseException:
        context.release()
        raise
    return SeccompFilter(context, plan)


def _refused(exc: OSError) -> SystemFault:
    hint = None
    if exc.errno in (errno.EPERM, errno.EACCES):
        hint = "without no_new_privs loading needs CAP_SYS_ADMIN: load before dropping capabilities"
    return SystemFault(f"seccomp: the kernel refused the filter: {exc.strerror}", hint=hint)


# -- the compiled program, cached --

_KERNEL_FLAGS = {Flag.TSYNC: 1, Flag.LOG: 2, Flag.SPEC_ALLOW: 4}  # SECCOMP_FILTER_FLAG_*
_CACHE_MAGIC = b"estiba-seccomp-bpf 1\n"


class CompiledFilter:
    """A filter as the kernel takes it: a BPF program and the seccomp(2) flags.

    Same contract as SeccompFilter (load right before execve; opens no file).
    """

    def __init__(self, program: bytes, flags: int, calls: Any = None) -> None:
        self.program = program
        self.flags = flags
        self._calls = calls

    def load(self) -> None:
        from estiba.runtime import syscalls

        calls = self._calls or syscalls.Syscalls()
        try:
            calls.seccomp_set_filter(self.flags, self.program)
        except OSError as exc:
            raise _refused(exc) from exc

    def release(self) -> None:
        return None

    def __enter__(self) -> CompiledFilter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def cache_key(config: SeccompConfig) -> str:
    """What the generated program depends on: the config, libseccomp, the arch, the kernel."""
    from estiba.runtime import _libseccomp as lib

    material = "|".join((repr(config), _version(lib), str(lib.arch_native()), str(lib.api_level())))
    return hashlib.sha256(material.encode()).hexdigest()


def compile_filter(config: SeccompConfig, cache_dir: str | None, calls: Any = None) -> CompiledFilter:
    """The config's BPF program: from the cache, or built with libseccomp (then cached).

    A cache that cannot be read or written only costs the build; a damaged entry (its
    checksum does not match) is rebuilt and replaced.
    """
    _check_supported(config)
    flags = sum(_KERNEL_FLAGS[flag] for flag in config.flags)
    path = os.path.join(cache_dir, cache_key(config) + ".bpf") if cache_dir else None
    program = _read_cached(path) if path else None
    if program is None:
        with build(config) as built:
            program = built.export_bpf()
        if path:
            _write_cached(path, program)
    return CompiledFilter(program, flags, calls)


def _read_cached(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    head, _, program = data.partition(b"\n\n")
    magic, _, digest = (head + b"\n").partition(b"\n")
    if (
        magic + b"\n" != _CACHE_MAGIC
        or digest.strip() != hashlib.sha256(program).hexdigest().encode()
        or not program
        or len(program) % 8
    ):
        return None
    return program


def _write_cached(path: str, program: bytes) -> None:
    data = _CACHE_MAGIC + hashlib.sha256(program).hexdigest().encode() + b"\n\n" + program
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)  # readers see the old entry, none, or the whole new one
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


_CALLER_ERRNOS = {errno.EPERM, errno.EACCES, errno.EFAULT, errno.EEXIST, errno.EINVAL, errno.EDOM}


def _apply(what: str, call: Callable[..., None], *args: Any) -> None:
    """Run a libseccomp call, translating its errno: the config's fault, or the system's."""
    try:
        call(*args)
    except OSError as exc:
        if exc.errno == errno.EOPNOTSUPP:
            raise Unsupported(f"{what}: not supported by this libseccomp or kernel") from exc
        kind = InvalidArgument if exc.errno in _CALLER_ERRNOS else SystemFault
        raise kind(f"{what}: {exc.strerror}") from exc


def _try(call: Callable[..., None], *args: Any) -> None:
    try:
        call(*args)
    except OSError:
        pass


def _version(lib: Any) -> str:
    return ".".join(str(part) for part in lib.version())


# -- features (`estiba-runtime features`) --


def supported_actions() -> list[str]:
    return sorted(a.value for a in Action if a is not Action.NOTIFY)


def supported_operators() -> list[str]:
    return sorted(op.value for op in Operator)


def supported_archs() -> list[str]:
    """The architectures this libseccomp can filter (loads libseccomp)."""
    from estiba.runtime import _libseccomp as lib

    return sorted(a.value for a in Arch if lib.arch_resolve_name(a.libseccomp_name) != 0)


def known_flags() -> list[str]:
    return sorted(flag.value for flag in _FLAG_ATTRIBUTE_NAME)


def supported_flags() -> list[str]:
    """The known flags that this libseccomp and kernel accept (loads libseccomp)."""
    from estiba.runtime import _libseccomp as lib

    context = lib.Context(action_value(Action.ALLOW))
    try:
        supported = []
        for flag, attribute_name in _FLAG_ATTRIBUTE_NAME.items():
            try:
                context.attr_set(getattr(lib, attribute_name), 1)
            except OSError:
                continue
            supported.append(flag.value)
        return sorted(supported)
    finally:
        context.release()

# -- Docker profiles (the engine's side): filter by caps, arch and kernel, as moby does --

# Docker names arches the Go way in `includes.arches`; archMap keys are SCMP_ARCH_* names.
_DOCKER_ARCH = {
    "x86": Arch.X86, "amd64": Arch.X86_64, "x32": Arch.X32, "arm": Arch.ARM, "arm64": Arch.AARCH64,
    "mips": Arch.MIPS, "mipsel": Arch.MIPSEL, "mips64": Arch.MIPS64, "mips64n32": Arch.MIPS64N32,
    "mipsel64": Arch.MIPSEL64, "mipsel64n32": Arch.MIPSEL64N32, "ppc": Arch.PPC, "ppc64": Arch.PPC64,
    "ppc64le": Arch.PPC64LE, "s390": Arch.S390, "s390x": Arch.S390X, "riscv64": Arch.RISCV64,
    "loong64": Arch.LOONGARCH64,
}
_UNAME_ARCH = {
    "x86_64": "amd64", "i386": "x86", "i486": "x86", "i586": "x86", "i686": "x86",
    "aarch64": "arm64", "armv6l": "arm", "armv7l": "arm", "armv8l": "arm", "loongarch64": "loong64",
}


def docker_profile_to_oci(
    profile: dict[str, Any],
    *,
    capabilities: list[str],
    arch: str | None = None,
    kernel: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Render a Docker seccomp profile as an OCI `linux.seccomp` dict for one container.

    capabilities is the container's bounding set ("CAP_SYS_ADMIN"); arch the native arch in
    Docker's spelling ("amd64", "arm64"; `uname -m` names work too), default this machine's;
    kernel is (major, minor), default the running kernel. A rule is kept when none of its
    `excludes` and all of its `includes` match, as moby's profiles/seccomp does.
    """
    where = "seccomp profile"
    _require(isinstance(profile, dict), where, "must be an object")
    _require("defaultAction" in profile, f"{where}: defaultAction", "required")
    native = _docker_arch(arch)
    kernel = kernel if kernel is not None else _kernel_version(os.uname().release, "the running kernel")
    caps = {c.upper() if c.upper().startswith("CAP_") else f"CAP_{c.upper()}" for c in capabilities}

    out: dict[str, Any] = {"defaultAction": profile["defaultAction"]}
    for key in ("defaultErrnoRet", "flags", "listenerPath", "listenerMetadata"):
        if profile.get(key) is not None:
            out[key] = profile[key]
    legacy_archs = _array(profile.get("architectures"), f"{where}: architectures")
    arch_map = _array(profile.get("archMap"), f"{where}: archMap")
    _require(not (legacy_archs and arch_map), where, "use either 'architectures' or 'archMap', not both")
    architectures = list(legacy_archs)
    for i, entry in enumerate(arch_map):
        _require(isinstance(entry, dict), f"{where}: archMap[{i}]", "must be an object")
        if entry.get("architecture") == _DOCKER_ARCH.get(native):
            architectures += [entry["architecture"], *(entry.get("subArchitectures") or [])]
            break
    if architectures:
        out["architectures"] = architectures

    syscalls = []
    for i, call in enumerate(_array(profile.get("syscalls"), f"{where}: syscalls")):
        at = f"{where}: syscalls[{i}]"
        _require(isinstance(call, dict), at, "must be an object")
        if _docker_rule_applies(call, at, caps=caps, arch=native, kernel=kernel):
            syscalls.append(_docker_rule_to_oci(call, at))
    out["syscalls"] = syscalls
    return out


def _docker_rule_applies(
    call: dict[str, Any], at: str, *, caps: set[str], arch: str, kernel: tuple[int, int]
) -> bool:
    excludes = call.get("excludes") or {}
    includes = call.get("includes") or {}
    if arch in (excludes.get("arches") or []):
        return False
    if any(cap in caps for cap in excludes.get("caps") or []):
        return False
    if excludes.get("minKernel") and kernel >= _kernel_version(excludes["minKernel"], f"{at}.excludes.minKernel"):
        return False
    if includes.get("arches") and arch not in includes["arches"]:
        return False
    if not all(cap in caps for cap in includes.get("caps") or []):
        return False
    if includes.get("minKernel") and kernel < _kernel_version(includes["minKernel"], f"{at}.includes.minKernel"):
        return False
    return True


def _docker_rule_to_oci(call: dict[str, Any], at: str) -> dict[str, Any]:
    if call.get("name") and call.get("names"):
        raise InvalidArgument(f"{at}: use either 'name' or 'names', not both")
    rule: dict[str, Any] = {"names": [call["name"]] if call.get("name") else list(call.get("names") or [])}
    _require("action" in call, f"{at}.action", "required")
    rule["action"] = call["action"]
    if call.get("errnoRet") is not None:
        rule["errnoRet"] = call["errnoRet"]
    args = _array(call.get("args"), f"{at}.args")
    if args:
        rule["args"] = [{k: a[k] for k in ("index", "value", "valueTwo", "op") if k in a} for a in args]
    return rule


def _docker_arch(arch: str | None) -> str:
    if arch is None:
        arch = os.uname().machine
        if arch in ("mips", "mips64") and sys.byteorder == "little":
            arch = arch.replace("mips", "mipsel")
    arch = _UNAME_ARCH.get(arch, arch)
    if arch not in _DOCKER_ARCH:
        hint = f"use one of {', '.join(_DOCKER_ARCH)}"
        raise InvalidArgument(f'seccomp profile: unknown architecture "{arch}"', hint=hint)
    return arch


def _kernel_version(release: str, where: str) -> tuple[int, int]:
    """(major, minor) of "5.10", "4.8.0-rc1" or "6.1.0-13-amd64"; patch levels do not count."""
    parts = release.split("-", 1)[0].split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        raise InvalidArgument(f'{where}: "{release}" is not a kernel version like "4.8"')
    return int(parts[0]), int(parts[1])


def default_docker_profile() -> dict[str, Any]:
    """A fresh copy of Docker's default profile, as shipped inside this package."""
    import json

    path = os.path.join(os.path.dirname(__file__), "seccomp_default.json")
    with open(path, encoding="utf-8") as profile:
        return json.load(profile)
