"""Images: references, the OCI image model, the image store, layers, save/load, bootstrap."""

from estiba.images._records import (
    HistoryItem,
    Image,
    ImageFilters,
    ImageUser,
    RemoveReport,
    short_id,
)
from estiba.images.archive import LoadedImage, load, save
from estiba.images.assemble import import_image, single_layer_image, write_image
from estiba.images.bootstrap import apt_mirror, bootstrap_busybox, bootstrap_debian, busybox_rootfs
from estiba.images.layers import diff_id_of, import_tar, layer_from_dir, open_layer
from estiba.images.manifest import Index, Manifest, host_platform, parse_manifest
from estiba.images.model import ContainerConfig, Healthcheck, History, ImageConfig, canonical_json
from estiba.images.reference import Reference, familiar_match, is_image_id, parse_reference
from estiba.images.store import ImageStore

__all__ = [
    "ContainerConfig",
    "Healthcheck",
    "History",
    "HistoryItem",
    "Image",
    "ImageConfig",
    "ImageFilters",
    "ImageStore",
    "ImageUser",
    "Index",
    "LoadedImage",
    "Manifest",
    "Reference",
    "RemoveReport",
    "apt_mirror",
    "bootstrap_busybox",
    "bootstrap_debian",
    "busybox_rootfs",
    "canonical_json",
    "diff_id_of",
    "familiar_match",
    "host_platform",
    "import_image",
    "import_tar",
    "is_image_id",
    "layer_from_dir",
    "load",
    "open_layer",
    "parse_manifest",
    "parse_reference",
    "save",
    "short_id",
    "single_layer_image",
    "write_image",
]
