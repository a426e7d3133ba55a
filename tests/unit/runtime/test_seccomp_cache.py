"""The compiled-filter cache: the program libseccomp generates, kept per config and reused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from estiba.runtime import seccomp
from estiba.runtime.syscalls import RecordingSyscalls

pytest.importorskip("estiba.runtime._libseccomp")

CONFIG = seccomp.SeccompConfig.from_spec({
    "defaultAction": "SCMP_ACT_ERRNO",
    "architectures": ["SCMP_ARCH_X86_64"],
    "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"],
    "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}],
})


def fresh_program(config: seccomp.SeccompConfig) -> bytes:
    with seccomp.build(config) as built:
        return built.export_bpf()


def test_first_use_builds_and_caches_the_same_program(tmp_path: Path) -> None:
    compiled = seccomp.compile_filter(CONFIG, str(tmp_path / "cache"))
    assert compiled.program == fresh_program(CONFIG)
    entries = list((tmp_path / "cache").iterdir())
    assert [e.name for e in entries] == [seccomp.cache_key(CONFIG) + ".bpf"]
    assert oct(os.stat(tmp_path / "cache").st_mode & 0o777) == "0o700"


def test_second_use_reads_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    seccomp.compile_filter(CONFIG, str(cache))
    entry = cache / (seccomp.cache_key(CONFIG) + ".bpf")
    before = entry.stat()
    again = seccomp.compile_filter(CONFIG, str(cache))
    after = entry.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert again.program == fresh_program(CONFIG)


def test_a_damaged_entry_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    seccomp.compile_filter(CONFIG, str(cache))
    entry = cache / (seccomp.cache_key(CONFIG) + ".bpf")
    data = bytearray(entry.read_bytes())
    data[-3] ^= 0xFF  # one flipped byte in the program: the checksum no longer matches
    entry.write_bytes(bytes(data))
    assert seccomp.compile_filter(CONFIG, str(cache)).program == fresh_program(CONFIG)
    assert seccomp.compile_filter(CONFIG, str(cache)).program == fresh_program(CONFIG)


def test_different_configs_different_entries(tmp_path: Path) -> None:
    other = CONFIG._replace(default_action=seccomp.Action.KILL)
    assert seccomp.cache_key(other) != seccomp.cache_key(CONFIG)
    a = seccomp.compile_filter(CONFIG, str(tmp_path))
    b = seccomp.compile_filter(other, str(tmp_path))
    assert a.program != b.program
    assert len(list(tmp_path.iterdir())) == 2


def test_an_unusable_cache_only_costs_the_build(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    compiled = seccomp.compile_filter(CONFIG, str(blocker / "cache"))
    assert compiled.program == fresh_program(CONFIG)
    assert seccomp.compile_filter(CONFIG, None).program == compiled.program


def test_load_installs_the_program_with_the_config_flags() -> None:
    calls = RecordingSyscalls()
    compiled = seccomp.compile_filter(CONFIG, None, calls)
    compiled.load()
    assert calls.calls == [("seccomp_set_filter", 1 | 2, compiled.program)]


def test_a_refused_load_is_one_clear_error() -> None:
    calls = RecordingSyscalls(fail={"seccomp_set_filter": PermissionError(1, "Operation not permitted")})
    with pytest.raises(seccomp.SystemFault, match="the kernel refused the filter") as info:
        seccomp.compile_filter(CONFIG, None, calls).load()
    assert "CAP_SYS_ADMIN" in (info.value.hint or "")
