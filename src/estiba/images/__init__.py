"""Images: blob-backed images and their bootstrap from the host (busybox today)."""

from estiba.images.bootstrap import busybox_rootfs

__all__ = ["busybox_rootfs"]
