"""One entry of HostConfig.Mounts (the `--mount` flag): its fields and the shape checks of
dockerd's ValidateMountConfig.

Whether a bind source exists or a volume driver is known is for the volumes package to
say; tmpfs mounts are complete here and go straight into the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from estiba.engine._apifields import Fields
from estiba.engine.tmpfs import validate_tmpfs_destination
from estiba.errors import InvalidArgument

MOUNT_TYPES = ("bind", "volume", "tmpfs", "npipe")
PROPAGATIONS = ("", "private", "rprivate", "shared", "rshared", "slave", "rslave")


@dataclass(frozen=True)
class Mount:
    type: str
    target: str
    source: str = ""
    read_only: bool = False
    consistency: str = ""
    bind_propagation: str = ""
    bind_non_recursive: bool = False
    volume_no_copy: bool = False
    volume_labels: dict[str, str] = field(default_factory=dict)
    volume_driver: str = ""
    volume_driver_options: dict[str, str] = field(default_factory=dict)
    tmpfs_size: int = 0
    tmpfs_mode: int = 0

    @classmethod
    def from_api(cls, f: Fields) -> Mount:
        bind, volume, tmpfs = f.child("BindOptions"), f.child("VolumeOptions"), f.child("TmpfsOptions")
        driver = volume.child("DriverConfig")
        return cls(
            type=f.string("Type"),
            target=f.string("Target"),
            source=f.string("Source"),
            read_only=f.boolean("ReadOnly"),
            consistency=f.string("Consistency"),
            bind_propagation=bind.string("Propagation"),
            bind_non_recursive=bind.boolean("NonRecursive"),
            volume_no_copy=volume.boolean("NoCopy"),
            volume_labels=volume.string_map("Labels"),
            volume_driver=driver.string("Name"),
            volume_driver_options=driver.string_map("Options"),
            tmpfs_size=tmpfs.integer("SizeBytes"),
            tmpfs_mode=tmpfs.integer("Mode", bounds=(0, 0o7777)),
        )

    def validate(self, where: str) -> None:
        """InvalidArgument, in dockerd's words where it has them."""
        invalid = f'invalid mount config for type "{self.type}"'
        if self.type not in MOUNT_TYPES:
            raise InvalidArgument(f"{invalid}: mount type unknown")
        if not self.target:
            raise InvalidArgument(f"{invalid}: field Target must not be empty")
        if not self.target.startswith("/"):
            raise InvalidArgument(f"invalid mount path: '{self.target}' mount path must be absolute")
        if self.bind_propagation not in PROPAGATIONS:
            raise InvalidArgument(f"{where}.BindOptions.Propagation: unknown {self.bind_propagation!r}")
        if self.type == "tmpfs":
            if self.source:
                raise InvalidArgument(f"{invalid}: field Source must not be specified")
            if self.tmpfs_size < 0:
                raise InvalidArgument(f"{where}.TmpfsOptions.SizeBytes: must not be negative")
            validate_tmpfs_destination(self.target)
        elif self.type == "bind" and not self.source:
            raise InvalidArgument(f"{invalid}: field Source must not be empty")
