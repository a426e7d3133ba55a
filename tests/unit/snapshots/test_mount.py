"""mount_all/unmount against a recording kernel; option parsing; layer_dirs; the long
lowerdir compaction."""

from __future__ import annotations

import errno

import pytest

from estiba.errors import Conflict, InvalidArgument, Unsupported
from estiba.runtime import syscalls as sc
from estiba.runtime.syscalls import RecordingSyscalls
from estiba.snapshots import LayerDirs, Mount, layer_dirs, mount_all, mounted, unmount
from estiba.snapshots.mount import compact_lowerdirs, parse_options

OVERLAY = Mount("overlay", "overlay", ("index=off", "lowerdir=/s/2/fs:/s/1/fs", "upperdir=/s/3/fs", "workdir=/s/3/work"))


def test_parse_options_splits_flags_from_data() -> None:
    flags, data = parse_options(["ro", "nosuid", "lowerdir=/a:/b", "rw", "index=off", "nodev"])
    assert flags == sc.MS_NOSUID | sc.MS_NODEV
    assert data == "lowerdir=/a:/b,index=off"


def test_overlay_is_one_mount_with_its_data() -> None:
    kernel = RecordingSyscalls()
    mount_all([OVERLAY], "/t", syscalls=kernel)
    assert kernel.calls == [("mount", "overlay", "/t", "overlay", 0,
                             "index=off,lowerdir=/s/2/fs:/s/1/fs,upperdir=/s/3/fs,workdir=/s/3/work")]


def test_read_only_bind_is_remounted_read_only() -> None:
    kernel = RecordingSyscalls()
    mount_all([Mount("bind", "/s/1/fs", ("ro", "rbind"))], "/t", syscalls=kernel)
    assert kernel.calls == [
        ("mount", "/s/1/fs", "/t", None, sc.MS_BIND | sc.MS_REC, None),
        ("mount", None, "/t", None, sc.MS_RDONLY | sc.MS_REMOUNT | sc.MS_BIND, None),
    ]


def test_writable_bind_is_one_call() -> None:
    kernel = RecordingSyscalls()
    mount_all([Mount("bind", "/s/1/fs", ("rw", "rbind"))], "/t", syscalls=kernel)
    assert kernel.calls == [("mount", "/s/1/fs", "/t", None, sc.MS_BIND | sc.MS_REC, None)]


def test_a_failed_mount_undoes_the_earlier_ones() -> None:
    class FailSecond(RecordingSyscalls):
        def mount(self, source, target, fstype, flags=0, data=None) -> None:
            super().mount(source, target, fstype, flags, data)
            if len([c for c in self.calls if c[0] == "mount"]) == 2:
                raise OSError(errno.EINVAL, "bad option")

    kernel = FailSecond()
    with pytest.raises(InvalidArgument):
        mount_all([Mount("bind", "/a", ("rbind",)), OVERLAY], "/t", syscalls=kernel)
    assert kernel.calls[-1] == ("umount2", "/t", sc.MNT_DETACH)


def test_kernel_errors_become_error_kinds() -> None:
    kernel = RecordingSyscalls(fail={"umount2": OSError(errno.EINVAL, "x")})
    with pytest.raises(InvalidArgument, match="not a mount point"):
        unmount("/t", syscalls=kernel)
    kernel = RecordingSyscalls(fail={"umount2": OSError(errno.EBUSY, "x")})
    with pytest.raises(Conflict):
        unmount("/t", syscalls=kernel)


def test_mounted_unmounts_and_detaches_when_busy() -> None:
    class BusyOnce(RecordingSyscalls):
        def umount2(self, target: str, flags: int = 0) -> None:
            super().umount2(target, flags)
            if flags == 0:
                raise OSError(errno.EBUSY, "busy")

    kernel = BusyOnce()
    with mounted([OVERLAY], "/t", syscalls=kernel) as target:
        assert target == "/t"
    assert kernel.calls[-2:] == [("umount2", "/t", 0), ("umount2", "/t", sc.MNT_DETACH)]


def test_layer_dirs_reads_snapshot_mounts() -> None:
    assert layer_dirs([OVERLAY]) == LayerDirs("/s/3/fs", ("/s/2/fs", "/s/1/fs"), "/s/3/work")
    assert layer_dirs([Mount("bind", "/s/1/fs", ("rw", "rbind"))]) == LayerDirs("/s/1/fs", ())
    assert layer_dirs([Mount("bind", "/s/1/fs", ("ro", "rbind"))]) == LayerDirs(None, ("/s/1/fs",))
    with pytest.raises(Unsupported):
        layer_dirs([Mount("tmpfs", "tmpfs")])


def test_long_lowerdirs_become_relative_to_their_common_directory() -> None:
    root = "/var/lib/estiba/snapshots/" + "x" * 40 + "/snapshots"
    lowers = [f"{root}/{i}/fs" for i in range(120, 0, -1)]
    data = f"index=off,lowerdir={':'.join(lowers)},upperdir={root}/121/fs,workdir={root}/121/work"
    assert len(data) > 4096
    directory, compacted = compact_lowerdirs(data)
    assert directory == root
    assert compacted == (f"index=off,lowerdir={':'.join(f'{i}/fs' for i in range(120, 0, -1))},"
                         f"upperdir={root}/121/fs,workdir={root}/121/work")


def test_too_many_layers_even_when_relative_is_a_clear_error() -> None:
    lowers = [f"/s/{i:05d}/fs" for i in range(600)]
    with pytest.raises(InvalidArgument, match="too many layers"):
        compact_lowerdirs("lowerdir=" + ":".join(lowers))


def test_to_spec_gives_an_oci_mount() -> None:
    assert Mount("bind", "/s/1/fs", ("ro", "rbind")).to_spec("/") == {
        "destination": "/", "type": "bind", "source": "/s/1/fs", "options": ["ro", "rbind"]}
