"""Seccomp without root: parsing linux.seccomp, planning rules, Docker profiles, building filters."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from estiba.errors import InvalidArgument, Unavailable, Unsupported
from estiba.runtime import seccomp
from estiba.runtime.seccomp import Action, Arch, Flag, Operator, SeccompConfig, SyscallArg

REFERENCE_PROFILE = Path(__file__).resolve().parents[4] / "shared/reference/seccomp-default.json"
DOCKER_DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]


def _has_libseccomp() -> bool:
    try:
        from estiba.runtime import _libseccomp

        _libseccomp.library()
    except Unavailable:
        return False
    return True


needs_libseccomp = pytest.mark.skipif(not _has_libseccomp(), reason="libseccomp.so.2 is not installed")


def deny(*names: str, **extra) -> dict:
    return {"names": list(names), "action": "SCMP_ACT_ERRNO", **extra}


# -- parsing --


def test_from_spec_parses_every_field():
    config = SeccompConfig.from_spec({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "listenerMetadata": "ignored without a listener",
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_TRACE", "errnoRet": 5,
             "args": [{"index": 0, "value": 0xFFFFFFFF, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]},
        ],
    })
    assert config.default_action is Action.ERRNO
    assert config.default_errno_ret == 38
    assert config.architectures == (Arch.X86_64, Arch.X86)
    assert config.flags == (Flag.LOG,)
    assert config.listener_path is None
    assert config.syscalls[0].names == ("read", "write")
    assert config.syscalls[0].errno_ret is None
    assert config.syscalls[1].args == (SyscallArg(0, 0xFFFFFFFF, Operator.EQ, 0),)
    assert config.syscalls[2].args[0].value_two == 0


def test_from_spec_minimal():
    config = SeccompConfig.from_spec({"defaultAction": "SCMP_ACT_ALLOW"})
    assert config == SeccompConfig(default_action=Action.ALLOW)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "linux.seccomp.defaultAction: required"),
        ([], "linux.seccomp: must be an object"),
        ({"defaultAction": "SCMP_ACT_NOPE"}, 'linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE"'),
        ({"defaultAction": 3}, "linux.seccomp.defaultAction: action must be a string, not int"),
        ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1}, "linux.seccomp.defaultErrnoRet: must be an unsigned 32-bit integer"),
        ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}, "linux.seccomp.defaultErrnoRet: 70000 does not fit"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}, 'linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_VAX"'),
        ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": "SCMP_ARCH_X86"}, "linux.seccomp.architectures: must be an array"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}, 'linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_FAST"'),
        ({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": 7}, "linux.seccomp.listenerPath: must be a string"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]}, "linux.seccomp.syscalls[0].names: required"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}, "linux.seccomp.syscalls[0].names: must list at least one syscall"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("read", "")]}, "linux.seccomp.syscalls[0].names[1]: must be a syscall name"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"]}]}, "linux.seccomp.syscalls[0].action: required"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("read")] * 3 + [{"names": ["x"], "action": "SCMP_ACT_FOO"}]},
         'linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"'),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("read", errnoRet=True)]}, "linux.seccomp.syscalls[0].errnoRet: must be an unsigned 32-bit integer, not True"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("read", args=[{"index": 0, "value": 1}])]}, "linux.seccomp.syscalls[0].args[0].op: required"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("read", args=[{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}])]}, "linux.seccomp.syscalls[0].args[0].index: 6 is out of range"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("read", args=[{"index": 0, "value": 1 << 64, "op": "SCMP_CMP_EQ"}])]}, "linux.seccomp.syscalls[0].args[0].value: must be an unsigned 64-bit integer"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("read", args=[{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}])]}, 'linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_LIKE"'),
    ],
)
def test_from_spec_names_the_bad_field(spec, message):
    with pytest.raises(InvalidArgument) as raised:
        SeccompConfig.from_spec(spec)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"}, "linux.seccomp.listenerPath"),
        ({"defaultAction": "SCMP_ACT_NOTIFY"}, "linux.seccomp.defaultAction"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("read"), {"names": ["open"], "action": "SCMP_ACT_NOTIFY"}]}, "linux.seccomp.syscalls[1].action"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}, "linux.seccomp.flags"),
    ],
)
def test_from_spec_refuses_what_we_do_not_support(spec, field):
    with pytest.raises(Unsupported) as raised:
        SeccompConfig.from_spec(spec)
    assert str(raised.value).startswith(f"{field}: ")
    assert "not supported" in str(raised.value)


def test_arch_libseccomp_name():
    assert Arch.X86_64.libseccomp_name == "x86_64"
    assert Arch.AARCH64.libseccomp_name == "aarch64"


# -- actions and rule planning (pure: the syscall table is a dict) --


def test_action_values_match_libseccomp():
    assert seccomp.action_value(Action.KILL) == seccomp.action_value(Action.KILL_THREAD) == 0
    assert seccomp.action_value(Action.KILL_PROCESS) == 0x80000000
    assert seccomp.action_value(Action.ERRNO) == 0x00050001  # EPERM by default
    assert seccomp.action_value(Action.ERRNO, 38) == 0x00050026
    assert seccomp.action_value(Action.TRACE) == 0x7FF00001
    assert seccomp.action_value(Action.ALLOW, 38) == 0x7FFF0000  # errnoRet only for ERRNO/TRACE


FAKE_TABLE = {"mkdir": 83, "mkdirat": 258, "personality": 135, "unshare": 272, "read": 0}


def plan(spec: dict) -> seccomp.RulePlan:
    return seccomp.plan_rules(SeccompConfig.from_spec(spec), FAKE_TABLE.get)


def test_plan_expands_names_and_skips_unknown_syscalls():
    result = plan({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("mkdir", "no_such_call", "mkdirat")]})
    assert [(r.syscall, r.number, r.action) for r in result.rules] == [("mkdir", 83, 0x00050001), ("mkdirat", 258, 0x00050001)]
    assert result.unknown_syscalls == ("no_such_call",)


def test_plan_skips_rules_whose_action_is_the_default():
    result = plan({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [deny("mkdir", errnoRet=1), deny("mkdirat", errnoRet=38), {"names": ["read"], "action": "SCMP_ACT_ALLOW"}],
    })
    assert [r.syscall for r in result.rules] == ["mkdirat", "read"]
    assert result.redundant_syscalls == ("mkdir",)
    killed = plan({"defaultAction": "SCMP_ACT_KILL_THREAD", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL"}]})
    assert killed.rules == () and killed.redundant_syscalls == ("read",)


def test_plan_splits_conditions_on_the_same_argument_into_separate_rules():
    same = [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]
    result = plan({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("personality", args=same)]})
    assert [tuple(a.value for a in r.conditions) for r in result.rules] == [(1,), (2,)]

    distinct = [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]
    result = plan({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("personality", args=distinct)]})
    assert len(result.rules) == 1 and len(result.rules[0].conditions) == 2


# -- Docker profiles --


def profile() -> dict:
    return seccomp.default_docker_profile()


def names_of(oci: dict) -> set[str]:
    return {name for rule in oci["syscalls"] for name in rule["names"]}


def rules_for(oci: dict, name: str) -> list[dict]:
    return [rule for rule in oci["syscalls"] if name in rule["names"]]


def test_default_profile_is_the_reference_copy_and_fresh_each_time():
    first = profile()
    if REFERENCE_PROFILE.exists():
        assert first == json.loads(REFERENCE_PROFILE.read_text())
    first["syscalls"].clear()
    assert profile()["syscalls"]


def test_docker_profile_without_sys_admin_keeps_namespace_calls_out():
    oci = seccomp.docker_profile_to_oci(profile(), capabilities=DOCKER_DEFAULT_CAPS, arch="amd64", kernel=(6, 1))
    names = names_of(oci)
    assert {"mount", "umount2", "unshare", "setns", "bpf"}.isdisjoint(names)
    assert "chroot" in names  # CAP_SYS_CHROOT is in Docker's default set
    assert "reboot" not in names
    (clone,) = rules_for(oci, "clone")
    assert clone["args"] == [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]
    (clone3,) = rules_for(oci, "clone3")
    assert clone3 == {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
    assert oci["defaultAction"] == "SCMP_ACT_ERRNO" and oci["defaultErrnoRet"] == 1
    SeccompConfig.from_spec(oci)  # the result is a valid linux.seccomp


def test_docker_profile_with_sys_admin_allows_mount_and_unshare():
    oci = seccomp.docker_profile_to_oci(
        profile(), capabilities=[*DOCKER_DEFAULT_CAPS, "CAP_SYS_ADMIN"], arch="amd64", kernel=(6, 1)
    )
    assert {"mount", "umount2", "unshare", "setns", "clone3"} <= names_of(oci)
    assert all("args" not in rule for rule in rules_for(oci, "clone"))  # the unconditional one only
    assert all(rule["action"] == "SCMP_ACT_ALLOW" for rule in rules_for(oci, "clone3"))


def test_docker_profile_capability_spelling_is_forgiving():
    oci = seccomp.docker_profile_to_oci(profile(), capabilities=["sys_admin"], arch="amd64", kernel=(6, 1))
    assert "mount" in names_of(oci)


@pytest.mark.parametrize(
    ("arch", "architectures"),
    [
        ("amd64", ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
        ("x86_64", ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
        ("arm64", ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]),
        ("s390x", ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]),
        ("riscv64", ["SCMP_ARCH_RISCV64"]),
        ("ppc64le", None),  # not in the default archMap: libseccomp picks the native arch
    ],
)
def test_docker_profile_architectures_come_from_the_arch_map(arch, architectures):
    oci = seccomp.docker_profile_to_oci(profile(), capabilities=[], arch=arch, kernel=(6, 1))
    assert oci.get("architectures") == architectures


def test_docker_profile_arch_specific_rules():
    amd64 = names_of(seccomp.docker_profile_to_oci(profile(), capabilities=[], arch="amd64", kernel=(6, 1)))
    arm64 = names_of(seccomp.docker_profile_to_oci(profile(), capabilities=[], arch="arm64", kernel=(6, 1)))
    assert "arch_prctl" in amd64 and "arch_prctl" not in arm64
    assert "cacheflush" in arm64 and "cacheflush" not in amd64
    s390x = seccomp.docker_profile_to_oci(profile(), capabilities=[], arch="s390x", kernel=(6, 1))
    assert [rule["args"][0]["index"] for rule in rules_for(s390x, "clone")] == [1]


def test_docker_profile_min_kernel():
    old = seccomp.docker_profile_to_oci(profile(), capabilities=[], arch="amd64", kernel=(4, 7))
    new = seccomp.docker_profile_to_oci(profile(), capabilities=[], arch="amd64", kernel=(4, 8))
    assert "ptrace" not in names_of(old)
    assert "ptrace" in names_of(new)


def test_docker_profile_defaults_to_this_machine():
    oci = seccomp.docker_profile_to_oci(profile(), capabilities=[])
    if os.uname().machine == "x86_64":
        assert oci["architectures"][0] == "SCMP_ARCH_X86_64"


def test_docker_profile_errors():
    with pytest.raises(InvalidArgument, match="unknown architecture"):
        seccomp.docker_profile_to_oci(profile(), capabilities=[], arch="vax")
    both = {**profile(), "architectures": ["SCMP_ARCH_X86_64"]}
    with pytest.raises(InvalidArgument, match="either 'architectures' or 'archMap'"):
        seccomp.docker_profile_to_oci(both, capabilities=[], arch="amd64")
    bad_kernel = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "four"}}]}
    with pytest.raises(InvalidArgument, match=r"syscalls\[0\]\.includes\.minKernel"):
        seccomp.docker_profile_to_oci(bad_kernel, capabilities=[], arch="amd64", kernel=(6, 1))
    with pytest.raises(InvalidArgument, match="defaultAction"):
        seccomp.docker_profile_to_oci({"syscalls": []}, capabilities=[], arch="amd64")


def test_docker_profile_legacy_name_and_architectures():
    legacy = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"name": "mkdir", "action": "SCMP_ACT_ERRNO", "args": [], "comment": "x"}],
    }
    oci = seccomp.docker_profile_to_oci(legacy, capabilities=[], arch="amd64", kernel=(6, 1))
    assert oci == {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}],
    }


# -- building filters with libseccomp (no root: nothing is loaded) --


def build(spec: dict) -> seccomp.SeccompFilter:
    return seccomp.build(SeccompConfig.from_spec(spec))


@needs_libseccomp
def test_build_exports_bpf_that_changes_with_the_rules():
    base = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("mkdir", "mkdirat")]}
    with build(base) as one, build({**base, "syscalls": [*base["syscalls"], deny("symlink", errnoRet=38)]}) as two:
        bpf_one, bpf_two = one.export_bpf(), two.export_bpf()
        assert len(one.plan.rules) == 2 and len(two.plan.rules) == 3
    assert bpf_one and len(bpf_one) % 8 == 0  # struct sock_filter is 8 bytes
    assert len(bpf_two) > len(bpf_one)


@needs_libseccomp
def test_build_skips_unknown_syscalls_and_default_action_rules():
    plain = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("mkdir")]}
    noisy = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        deny("mkdir", "not_a_syscall_at_all"), {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
    ]}
    with build(plain) as a, build(noisy) as b:
        assert a.export_bpf() == b.export_bpf()
        assert b.plan.unknown_syscalls == ("not_a_syscall_at_all",)
        assert b.plan.redundant_syscalls == ("read",)


@needs_libseccomp
def test_build_conditions_and_same_index_split_show_in_the_filter():
    same = [{"index": 0, "value": 0x1234, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 0x5678, "op": "SCMP_CMP_EQ"}]
    masked = [{"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]
    with build({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        deny("personality", args=same), deny("unshare", errnoRet=38, args=masked),
    ]}) as built:
        pfc = built.export_pfc()
    assert "$a0.lo32 == 4660" in pfc and "$a0.lo32 == 22136" in pfc  # two rules, ORed
    assert "$a0.lo32 & 0x7e020000 == 0" in pfc
    assert "action ERRNO(38)" in pfc and "action ERRNO(1)" in pfc


@needs_libseccomp
def test_build_adds_architectures_and_flags_and_never_sets_no_new_privs():
    from estiba.runtime import _libseccomp as lib

    spec = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG"], "syscalls": [deny("mkdir")]}
    with build(spec) as built:
        context = built._context
        assert context.attr_get(lib.ATTR_CTL_NNP) == 0
        assert context.attr_get(lib.ATTR_CTL_LOG) == 1
        assert context.arch_exists(lib.arch_resolve_name("x86"))
        assert not context.arch_exists(lib.arch_resolve_name("aarch64"))
        if lib.arch_native() == lib.arch_resolve_name("x86_64"):
            assert "filter for arch x86 (" in built.export_pfc()


@needs_libseccomp
def test_build_the_converted_docker_profile():
    oci = seccomp.docker_profile_to_oci(profile(), capabilities=DOCKER_DEFAULT_CAPS, kernel=(6, 1))
    with seccomp.build(SeccompConfig.from_spec(oci)) as built:
        assert len(built.plan.rules) > 300
        assert built.export_bpf()


@needs_libseccomp
def test_build_refuses_an_arch_this_libseccomp_does_not_know():
    from estiba.runtime import _libseccomp as lib

    if lib.arch_resolve_name("m68k"):
        pytest.skip("this libseccomp knows m68k")
    with pytest.raises(Unsupported, match=r"linux.seccomp.architectures: SCMP_ARCH_M68K is not known to libseccomp \d"):
        build({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_M68K"]})


@needs_libseccomp
def test_release_is_idempotent():
    built = build({"defaultAction": "SCMP_ACT_ALLOW"})
    built.release()
    built.release()


# -- features --


def test_supported_actions_and_operators():
    assert "SCMP_ACT_NOTIFY" not in seccomp.supported_actions()
    assert "SCMP_ACT_KILL_PROCESS" in seccomp.supported_actions()
    assert seccomp.supported_operators() == sorted(op.value for op in Operator)
    assert seccomp.known_flags() == ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"]


@needs_libseccomp
def test_supported_archs_and_flags_come_from_libseccomp():
    archs = seccomp.supported_archs()
    assert {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"} <= set(archs)
    assert set(archs) <= {a.value for a in Arch}
    assert set(seccomp.supported_flags()) <= set(seccomp.known_flags())


def test_import_is_lean():
    code = "import sys, estiba.runtime.seccomp; print('ctypes' in sys.modules, 'json' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["False", "False"]


def test_plan_rules_does_not_mutate_config():
    config = SeccompConfig.from_spec({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("mkdir")]})
    before = copy.deepcopy(config)
    seccomp.plan_rules(config, FAKE_TABLE.get)
    assert config == before
