"""Mount planning and the mount sequence, checked against a recording fake kernel."""

from __future__ import annotations

import os

import pytest

from estiba.runtime import rootfs
from estiba.runtime import syscalls as sc
from estiba.runtime.securejoin import secure_join
from estiba.runtime.spec import Mount, parse_spec
from estiba.runtime.specgen import default_spec


def test_plan_splits_flags_propagation_and_data():
    plan = rootfs.plan_mount(
        Mount("/dev/pts", "devpts", "devpts", ("nosuid", "noexec", "newinstance", "ptmxmode=0666", "rslave"))
    )
    assert plan.kind == "devpts"
    assert plan.flags == sc.MS_NOSUID | sc.MS_NOEXEC
    assert plan.propagation == (sc.MS_SLAVE | sc.MS_REC,)
    assert plan.data == "newinstance,ptmxmode=0666"


def test_plan_clearing_options_undo_earlier_ones():
    plan = rootfs.plan_mount(Mount("/x", "tmpfs", "tmpfs", ("ro", "nosuid", "rw", "suid", "noatime", "atime")))
    assert plan.flags == 0


def test_bind_by_option_or_type():
    assert rootfs.plan_mount(Mount("/x", "", "/src", ("rbind", "ro"))).kind == "bind"
    assert rootfs.plan_mount(Mount("/x", "bind", "/src", ())).flags & sc.MS_BIND
    plan = rootfs.plan_mount(Mount("/x", "none", "/src", ("rbind",)))
    assert plan.flags == sc.MS_BIND | sc.MS_REC
    assert rootfs.plan_mount(Mount("/x", "tmpfs", "tmpfs", ("tmpcopyup",))).copy_up


def test_bind_creates_a_file_or_directory_destination_and_remounts_for_flags(tmp_path):
    root = tmp_path / "rootfs"
    root.mkdir()
    source_file = tmp_path / "file"
    source_file.write_text("x")
    calls = sc.RecordingSyscalls()
    plan = rootfs.plan_mount(Mount("/etc/hosts", "bind", str(source_file), ("rbind", "ro")))
    rootfs.mount_one(calls, str(root), plan, [])
    assert (root / "etc" / "hosts").is_file()
    dest = str(root / "etc" / "hosts")
    assert calls.calls[0] == ("mount", str(source_file), dest, "bind", sc.MS_BIND | sc.MS_REC, None)
    assert calls.calls[1][4] == sc.MS_BIND | sc.MS_REC | sc.MS_RDONLY | sc.MS_REMOUNT

    plan = rootfs.plan_mount(Mount("/data", "bind", str(tmp_path), ("bind",)))
    calls = sc.RecordingSyscalls()
    rootfs.mount_one(calls, str(root), plan, [])
    assert (root / "data").is_dir()
    assert len(calls.calls) == 1  # no flags beyond bind: no remount


def test_bind_of_a_missing_source_names_it(tmp_path):
    plan = rootfs.plan_mount(Mount("/data", "bind", str(tmp_path / "missing"), ("bind",)))
    with pytest.raises(FileNotFoundError, match="bind mount source .*missing for /data"):
        rootfs.mount_one(sc.RecordingSyscalls(), str(tmp_path), plan, [])


def test_destination_symlink_cannot_escape_the_rootfs(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    os.symlink("/../../../../outside", root / "etc" / "evil")
    plan = rootfs.plan_mount(Mount("/etc/evil", "tmpfs", "tmpfs", ()))
    calls = sc.RecordingSyscalls()
    rootfs.mount_one(calls, str(root), plan, [])
    assert calls.calls[0][2] == str(root / "outside")
    assert not (tmp_path / "outside").exists()


def test_tmpfs_read_only_is_remounted_after_mounting(tmp_path):
    calls = sc.RecordingSyscalls()
    rootfs.mount_one(calls, str(tmp_path), rootfs.plan_mount(Mount("/t", "tmpfs", "tmpfs", ("ro", "size=1m"))), [])
    assert calls.calls[0] == ("mount", "tmpfs", str(tmp_path / "t"), "tmpfs", 0, "size=1m")
    assert calls.calls[1] == ("mount", None, str(tmp_path / "t"), None, sc.MS_RDONLY | sc.MS_REMOUNT, None)


def test_cgroup_v1_mounts_a_tmpfs_of_bound_hierarchies(tmp_path):
    calls = sc.RecordingSyscalls()
    plan = rootfs.plan_mount(Mount("/sys/fs/cgroup", "cgroup", "cgroup", ("nosuid", "ro")))
    hierarchies = [("/sys/fs/cgroup/memory", "memory", "/estiba/c1")]
    rootfs.mount_one(calls, str(tmp_path), plan, hierarchies)
    dest = str(tmp_path / "sys/fs/cgroup")
    assert calls.calls[0] == ("mount", "tmpfs", dest, "tmpfs", sc.MS_NOSUID, "mode=755")
    assert calls.calls[1][1:4] == ("/sys/fs/cgroup/memory/estiba/c1", dest + "/memory", "bind")
    assert calls.calls[-1][4] & sc.MS_RDONLY


def test_cgroup_v2_is_one_cgroup2_mount(tmp_path):
    calls = sc.RecordingSyscalls()
    rootfs.mount_one(calls, str(tmp_path), rootfs.plan_mount(Mount("/sys/fs/cgroup", "cgroup", "cgroup", ())), [])
    assert calls.calls == [("mount", "cgroup2", str(tmp_path / "sys/fs/cgroup"), "cgroup2", 0, None)]


def test_prepare_root_makes_mounts_private_then_binds_the_rootfs(tmp_path):
    (tmp_path / "rootfs").mkdir()
    spec = parse_spec(default_spec(args=["true"]), str(tmp_path))
    calls = sc.RecordingSyscalls()
    rootfs.prepare_root(calls, spec)
    assert calls.calls[0] == ("mount", None, "/", None, sc.MS_SLAVE | sc.MS_REC, None)
    assert calls.calls[-1] == ("mount", spec.root_path, spec.root_path, "bind", sc.MS_BIND | sc.MS_REC, None)


def test_masking_a_directory_falls_back_to_a_read_only_tmpfs():
    import errno

    class DirectoryKernel(sc.RecordingSyscalls):
        def mount(self, source, target, fstype, flags=0, data=None):
            super().mount(source, target, fstype, flags, data)
            if source == "/dev/null":
                raise OSError(errno.ENOTDIR, "not a directory")

    calls = DirectoryKernel()
    rootfs.mask_path(calls, "/proc/acpi")
    assert calls.calls[-1] == ("mount", "tmpfs", "/proc/acpi", "tmpfs", sc.MS_RDONLY, None)


def test_masking_a_missing_path_is_skipped():
    calls = sc.RecordingSyscalls(fail={"mount": FileNotFoundError(2, "gone")})
    rootfs.mask_path(calls, "/proc/nothing")
    assert len(calls.calls) == 1


def test_dev_symlinks(tmp_path):
    (tmp_path / "rootfs" / "dev").mkdir(parents=True)
    spec = parse_spec(default_spec(args=["true"]), str(tmp_path))
    rootfs.setup_dev_symlinks(spec)
    dev = tmp_path / "rootfs" / "dev"
    assert os.readlink(dev / "fd") == "/proc/self/fd"
    assert os.readlink(dev / "stderr") == "/proc/self/fd/2"
    assert os.readlink(dev / "ptmx") == "pts/ptmx"


@pytest.mark.parametrize(
    ("unsafe", "expected"),
    [
        ("/etc/passwd", "etc/passwd"),
        ("../../etc", "etc"),
        ("/a/../../b", "b"),
        ("/link-abs/x", "target/x"),
        ("/link-rel/x", "target/x"),
        ("/link-up/x", "x"),
        ("/missing/deeper", "missing/deeper"),
    ],
)
def test_secure_join_stays_inside(tmp_path, unsafe, expected):
    (tmp_path / "target").mkdir()
    os.symlink("/target", tmp_path / "link-abs")
    os.symlink("target", tmp_path / "link-rel")
    os.symlink("../../..", tmp_path / "link-up")
    assert secure_join(str(tmp_path), unsafe) == os.path.join(str(tmp_path), expected)


def test_secure_join_detects_loops(tmp_path):
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    with pytest.raises(OSError, match="too many symlinks"):
        secure_join(str(tmp_path), "/a/x")


def test_cgroup_v2_without_a_namespace_binds_the_containers_subtree(tmp_path):
    calls = sc.RecordingSyscalls()
    plan = rootfs.plan_mount(Mount("/sys/fs/cgroup", "cgroup", "cgroup", ("nosuid", "ro")))
    rootfs.mount_one(calls, str(tmp_path), plan, [("/sys/fs/cgroup", "", "/estiba/c1")])
    dest = str(tmp_path / "sys/fs/cgroup")
    assert calls.calls[0] == ("mount", "/sys/fs/cgroup/estiba/c1", dest, "bind", sc.MS_BIND | sc.MS_REC, None)
    assert calls.calls[1][4] == sc.MS_NOSUID | sc.MS_RDONLY | sc.MS_BIND | sc.MS_REMOUNT
