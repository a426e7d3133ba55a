"""The container's root filesystem: mounts, /dev, pivot_root, masked and read-only paths.

Runs inside the container's new mount namespace, in the order runc uses, because later
steps depend on earlier ones: the root is made a mount point before anything is mounted
under it; /dev's nodes are made after /dev's tmpfs; the root is pivoted only after the
createContainer hooks have seen the host; read-only remounts come last so that every
directory they cover could still be created.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import NamedTuple

from estiba.runtime import syscalls as sc
from estiba.runtime.securejoin import secure_join
from estiba.runtime.spec import Device, Mount, Spec, propagation_flags

# option -> (clears the flag?, flag), as mount(8) and runc read them.
_FLAG_OPTIONS = {
    "acl": (False, sc.MS_POSIXACL),
    "async": (True, sc.MS_SYNCHRONOUS),
    "atime": (True, sc.MS_NOATIME),
    "bind": (False, sc.MS_BIND),
    "defaults": (False, 0),
    "dev": (True, sc.MS_NODEV),
    "diratime": (True, sc.MS_NODIRATIME),
    "dirsync": (False, sc.MS_DIRSYNC),
    "exec": (True, sc.MS_NOEXEC),
    "iversion": (False, sc.MS_I_VERSION),
    "lazytime": (False, sc.MS_LAZYTIME),
    "loud": (True, sc.MS_SILENT),
    "mand": (False, sc.MS_MANDLOCK),
    "noacl": (True, sc.MS_POSIXACL),
    "noatime": (False, sc.MS_NOATIME),
    "nodev": (False, sc.MS_NODEV),
    "nodiratime": (False, sc.MS_NODIRATIME),
    "noexec": (False, sc.MS_NOEXEC),
    "noiversion": (True, sc.MS_I_VERSION),
    "nolazytime": (True, sc.MS_LAZYTIME),
    "nomand": (True, sc.MS_MANDLOCK),
    "norelatime": (True, sc.MS_RELATIME),
    "nostrictatime": (True, sc.MS_STRICTATIME),
    "nosuid": (False, sc.MS_NOSUID),
    "nosymfollow": (False, sc.MS_NOSYMFOLLOW),
    "rbind": (False, sc.MS_BIND | sc.MS_REC),
    "relatime": (False, sc.MS_RELATIME),
    "remount": (False, sc.MS_REMOUNT),
    "ro": (False, sc.MS_RDONLY),
    "rw": (True, sc.MS_RDONLY),
    "silent": (False, sc.MS_SILENT),
    "strictatime": (False, sc.MS_STRICTATIME),
    "suid": (True, sc.MS_NOSUID),
    "sync": (False, sc.MS_SYNCHRONOUS),
    "symfollow": (True, sc.MS_NOSYMFOLLOW),
}
_PROPAGATION_OPTIONS = (
    "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
)

DEFAULT_DEVICES = (
    Device("/dev/null", "c", 1, 3, 0o666, 0, 0),
    Device("/dev/zero", "c", 1, 5, 0o666, 0, 0),
    Device("/dev/full", "c", 1, 7, 0o666, 0, 0),
    Device("/dev/tty", "c", 5, 0, 0o666, 0, 0),
    Device("/dev/urandom", "c", 1, 9, 0o666, 0, 0),
    Device("/dev/random", "c", 1, 8, 0o666, 0, 0),
)

DEV_SYMLINKS = (
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
)


class MountPlan(NamedTuple):
    """One mount entry, its options split into what mount(2) takes."""

    mount: Mount
    kind: str  # "bind", "proc", "sysfs", "tmpfs", "cgroup", "devpts", "mqueue", or another fs type
    flags: int
    propagation: tuple[int, ...]
    data: str
    copy_up: bool = False


def plan_mount(mount: Mount) -> MountPlan:
    """Split a mount's options into flags, propagation changes and fs data (pure)."""
    flags = 0
    propagation = []
    data = []
    copy_up = False
    for option in mount.options:
        if option in _FLAG_OPTIONS:
            clear, flag = _FLAG_OPTIONS[option]
            flags = flags & ~flag if clear else flags | flag
        elif option in _PROPAGATION_OPTIONS:
            propagation.append(propagation_flags(option))
        elif option == "tmpcopyup":
            copy_up = True
        else:
            data.append(option)
    kind = mount.type or "none"
    if mount.type == "bind" or flags & sc.MS_BIND:
        kind = "bind"
        flags |= sc.MS_BIND
    return MountPlan(mount, kind, flags, tuple(propagation), ",".join(data), copy_up)


def _mkdir_p(path: str, mode: int = 0o755) -> None:
    os.makedirs(path, mode=mode, exist_ok=True)


def _touch(path: str) -> None:
    _mkdir_p(os.path.dirname(path))
    if not os.path.lexists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o755))


def prepare_root(calls: sc.Syscalls, spec: Spec) -> None:
    """Stop mount events leaking to the host, then make the rootfs a mount point of its own."""
    flags = sc.MS_SLAVE | sc.MS_REC
    if spec.linux.rootfs_propagation:
        flags = propagation_flags(spec.linux.rootfs_propagation)
    calls.mount(None, "/", None, flags)
    _make_parent_private(calls, spec.root_path)
    # pivot_root needs the new root to be a mount point.
    calls.mount(spec.root_path, spec.root_path, "bind", sc.MS_BIND | sc.MS_REC)


def _make_parent_private(calls: sc.Syscalls, rootfs: str) -> None:
    """pivot_root refuses a new root whose parent mount is shared: make that mount private."""
    mount_point = _mount_point_of(rootfs)
    if mount_point is None:
        return
    point, optional = mount_point
    if "shared:" in optional:
        calls.mount(None, point, None, sc.MS_PRIVATE)


def _mount_point_of(path: str) -> tuple[str, str] | None:
    best = None
    try:
        with open("/proc/self/mountinfo") as handle:
            lines = handle.readlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        point = _unescape(fields[4])
        separator = fields.index("-")
        optional = " ".join(fields[6:separator])
        if path == point or path.startswith(point.rstrip("/") + "/"):
            if best is None or len(point) >= len(best[0]):
                best = (point, optional)
    return best


def _unescape(text: str) -> str:
    return text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mount_all(calls: sc.Syscalls, spec: Spec, cgroup_mounts: list[tuple[str, str, str]]) -> None:
    """Mount every entry of config.json `mounts`, in order."""
    for mount in spec.mounts:
        try:
            mount_one(calls, spec.root_path, plan_mount(mount), cgroup_mounts)
        except OSError as exc:
            if exc.strerror and mount.destination in exc.strerror:
                raise  # already names the mount
            what = f"mounting {mount.type or 'bind'} on {mount.destination}"
            raise OSError(exc.errno, f"{what}: {exc.strerror or exc}") from exc


def mount_one(
    calls: sc.Syscalls, rootfs: str, plan: MountPlan, cgroup_mounts: list[tuple[str, str, str]]
) -> None:
    mount = plan.mount
    dest = secure_join(rootfs, mount.destination)
    if plan.kind == "bind":
        _bind(calls, plan, dest)
    elif plan.kind == "cgroup":
        _mount_cgroup(calls, plan, dest, cgroup_mounts)
    elif plan.kind == "tmpfs":
        existing = os.stat(dest) if os.path.isdir(dest) else None
        _mkdir_p(dest)
        # tmpcopyup: keep a handle on the directory the tmpfs will hide, then copy it in.
        below = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) if plan.copy_up else -1
        try:
            _mount_plain(calls, plan, dest)
            if below >= 0:
                import shutil

                shutil.copytree(f"/proc/self/fd/{below}", dest, symlinks=True, dirs_exist_ok=True)
        finally:
            if below >= 0:
                os.close(below)
        if existing is not None:
            os.chmod(dest, stat.S_IMODE(existing.st_mode))
        if plan.flags & sc.MS_RDONLY:
            calls.mount(None, dest, None, plan.flags | sc.MS_REMOUNT)
    else:
        _mkdir_p(dest)
        _mount_plain(calls, plan, dest)


def _mount_plain(calls: sc.Syscalls, plan: MountPlan, dest: str) -> None:
    flags = plan.flags
    # /dev and tmpfs are filled after mounting; a read-only flag is applied later.
    if plan.mount.destination == "/dev" or plan.kind == "tmpfs":
        flags &= ~sc.MS_RDONLY
    source = plan.mount.source or plan.kind
    calls.mount(source, dest, plan.kind, flags, plan.data or None)
    for flag in plan.propagation:
        calls.mount(None, dest, None, flag)


def _bind(calls: sc.Syscalls, plan: MountPlan, dest: str) -> None:
    source = plan.mount.source
    try:
        source_stat = os.stat(source)
    except OSError as exc:
        raise OSError(
            exc.errno, f"bind mount source {source} for {plan.mount.destination}: {exc.strerror}"
        ) from exc
    if stat.S_ISDIR(source_stat.st_mode):
        _mkdir_p(dest)
    else:
        _touch(dest)
    calls.mount(source, dest, "bind", plan.flags & (sc.MS_BIND | sc.MS_REC), plan.data or None)
    # A bind mount ignores every other flag: a remount applies them.
    if plan.flags & ~(sc.MS_REC | sc.MS_REMOUNT | sc.MS_BIND):
        calls.mount(source, dest, "bind", plan.flags | sc.MS_REMOUNT, plan.data or None)
    for flag in plan.propagation:
        calls.mount(None, dest, None, flag)


def _mount_cgroup(
    calls: sc.Syscalls, plan: MountPlan, dest: str, cgroup_mounts: list[tuple[str, str, str]]
) -> None:
    """Mount the container's cgroups: one tmpfs holding each v1 hierarchy, or on a v2 host
    its own subtree (bound, like runc, so the host's other cgroups stay out of view), or a
    fresh cgroup2 mount, which a private cgroup namespace roots at the container's cgroup.

    `cgroup_mounts` is (host mount point, subsystems option, container's cgroup path) for
    each v1 hierarchy, or one entry with no subsystems for the v2 subtree to bind; empty
    for a fresh cgroup2 mount.
    """
    _mkdir_p(dest)
    if not cgroup_mounts:
        calls.mount("cgroup2", dest, "cgroup2", plan.flags, None)
        return
    if len(cgroup_mounts) == 1 and not cgroup_mounts[0][1]:
        mount_point, _, cgroup_path = cgroup_mounts[0]
        source = os.path.join(mount_point, cgroup_path.lstrip("/"))
        calls.mount(source, dest, "bind", sc.MS_BIND | sc.MS_REC)
        calls.mount(source, dest, "bind", plan.flags | sc.MS_BIND | sc.MS_REMOUNT)
        return
    calls.mount("tmpfs", dest, "tmpfs", plan.flags & ~sc.MS_RDONLY, "mode=755")
    for mount_point, subsystems, cgroup_path in cgroup_mounts:
        target = os.path.join(dest, os.path.basename(mount_point))
        _mkdir_p(target)
        source = os.path.join(mount_point, cgroup_path.lstrip("/"))
        calls.mount(source, target, "bind", sc.MS_BIND | sc.MS_REC)
        calls.mount(source, target, "bind", plan.flags | sc.MS_BIND | sc.MS_REMOUNT)
    if plan.flags & sc.MS_RDONLY:
        calls.mount(None, dest, None, (plan.flags & ~sc.MS_BIND) | sc.MS_REMOUNT | sc.MS_RDONLY)


def host_cgroup_mounts(cgroup_namespace: bool = False) -> list[tuple[str, str, str]]:
    """What `_mount_cgroup` needs: the v1 hierarchies visible now, with this process's
    cgroup in each; on a pure v2 host the cgroup2 mount and our cgroup in it (nothing
    when a cgroup namespace will root a fresh cgroup2 mount for us)."""
    own: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for controller in controllers.split(","):
                    own[controller] = path  # "" is the v2 hierarchy ("0::/path")
        with open("/proc/self/mountinfo") as handle:
            lines = handle.readlines()
    except OSError:
        return []
    result = []
    unified = None
    for line in lines:
        fields = line.split()
        separator = fields.index("-")
        if fields[separator + 1] == "cgroup2" and unified is None and "" in own:
            unified = (_unescape(fields[4]), "", own[""])
        if fields[separator + 1] != "cgroup":
            continue
        options = fields[separator + 3].split(",")
        subsystems = [o for o in options if o not in ("rw", "ro", "nosuid", "nodev", "noexec", "relatime")]
        key = next((s for s in subsystems if s in own), None)
        if key is None:
            continue
        result.append((_unescape(fields[4]), ",".join(subsystems), own[key]))
    if not result and unified is not None and not cgroup_namespace:
        return [unified]
    return result


def create_devices(calls: sc.Syscalls, spec: Spec) -> None:
    """Make the default device nodes and the spec's own under the rootfs's /dev."""
    configured = {device.path for device in spec.linux.devices}
    for device in (*(d for d in DEFAULT_DEVICES if d.path not in configured), *spec.linux.devices):
        _make_device(calls, spec.root_path, device)


def _make_device(calls: sc.Syscalls, rootfs: str, device: Device) -> None:
    dest = secure_join(rootfs, device.path)
    _mkdir_p(os.path.dirname(dest))
    kinds = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
    mode = device.file_mode if device.file_mode is not None else 0o666
    if os.path.lexists(dest):
        os.unlink(dest)
    try:
        os.mknod(dest, kinds[device.type] | mode, os.makedev(device.major, device.minor))
    except PermissionError:
        # In a user namespace mknod is not allowed: bind the host's node instead.
        _touch(dest)
        calls.mount(device.path, dest, "bind", sc.MS_BIND)
        return
    os.chmod(dest, mode)
    os.chown(dest, device.uid or 0, device.gid or 0)


def setup_dev_symlinks(spec: Spec) -> None:
    dev = os.path.join(spec.root_path, "dev")
    links = list(DEV_SYMLINKS)
    if os.path.exists("/proc/kcore"):
        links.append(("/proc/kcore", "/dev/core"))
    if any(m.destination == "/dev/pts" for m in spec.mounts):
        links.append(("pts/ptmx", "/dev/ptmx"))
    for target, name in links:
        path = os.path.join(dev, os.path.basename(name))
        if name == "/dev/ptmx" and os.path.lexists(path):
            os.unlink(path)
        try:
            os.symlink(target, path)
        except FileExistsError:
            pass


def pivot_root(calls: sc.Syscalls, rootfs: str) -> None:
    """Switch to the new root without a temporary directory: pivot onto itself, then detach."""
    old_root = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new_root = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new_root)
        calls.pivot_root(".", ".")
        # The old root is now stacked under "." : make it a slave so the detach below
        # does not propagate to the host, then drop it.
        os.fchdir(old_root)
        calls.mount(None, ".", None, sc.MS_SLAVE | sc.MS_REC)
        calls.umount2(".", sc.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old_root)
        os.close(new_root)


def move_root(calls: sc.Syscalls, rootfs: str) -> None:
    """--no-pivot: move the rootfs over / and chroot into it."""
    os.chdir(rootfs)
    calls.mount(rootfs, "/", None, sc.MS_MOVE)
    os.chroot(".")
    os.chdir("/")


def remount_readonly(calls: sc.Syscalls, path: str, recursive: bool = False) -> None:
    flags = sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY | _locked_flags(path)
    calls.mount(None, path, None, flags | (sc.MS_REC if recursive else 0))


def _locked_flags(path: str) -> int:
    """nosuid/nodev/noexec/atime flags of a mount, which a remount must keep (else EPERM)."""
    vfs = os.statvfs(path)
    mapping = {
        os.ST_NOSUID: sc.MS_NOSUID,
        os.ST_NODEV: sc.MS_NODEV,
        os.ST_NOEXEC: sc.MS_NOEXEC,
        os.ST_NOATIME: sc.MS_NOATIME,
        os.ST_NODIRATIME: sc.MS_NODIRATIME,
        os.ST_RELATIME: sc.MS_RELATIME,
    }
    return sum(flag for st_flag, flag in mapping.items() if vfs.f_flag & st_flag)


def finalize(calls: sc.Syscalls, spec: Spec) -> None:
    """After pivot_root: read-only /dev and root, then masked and read-only paths."""
    for mount in spec.mounts:
        if mount.destination == "/dev" and "ro" in mount.options:
            remount_readonly(calls, "/dev")
    if spec.root_readonly:
        remount_readonly(calls, "/")
    for path in spec.linux.readonly_paths:
        try:
            calls.mount(path, path, None, sc.MS_BIND | sc.MS_REC)
        except FileNotFoundError:
            continue
        remount_readonly(calls, path, recursive=True)
    for path in spec.linux.masked_paths:
        mask_path(calls, path)


def mask_path(calls: sc.Syscalls, path: str) -> None:
    try:
        calls.mount("/dev/null", path, None, sc.MS_BIND)
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno != errno.ENOTDIR:
            raise
        calls.mount("tmpfs", path, "tmpfs", sc.MS_RDONLY)


def write_sysctls(sysctl: dict[str, str]) -> None:
    for key, value in sysctl.items():
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as handle:
                handle.write(value)
        except OSError as exc:
            raise OSError(exc.errno, f'sysctl "{key}" = "{value}": {exc.strerror}') from exc
