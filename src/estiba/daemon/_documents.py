"""Images as Docker's JSON documents: list summaries, inspect, history entries."""

from __future__ import annotations

from typing import Any

from estiba.images import HistoryItem, Image, ImageConfig
from estiba.images.model import EMPTY_CONTAINER_CONFIG
from estiba.images._records import unix_time

__all__ = ["history_json", "inspect_json", "summary_json"]

_NO_TAG = "<none>:<none>"
_NO_DIGEST = "<none>@<none>"
_ZERO_TIME = "0001-01-01T00:00:00Z"



def summary_json(image: Image) -> dict[str, Any]:
    """An ImageSummary of GET /images/json."""
    return {
        "Id": image.id,
        "ParentId": image.parent or "",
        "RepoTags": list(image.repo_tags) or [_NO_TAG],
        "RepoDigests": list(image.repo_digests) or ([_NO_DIGEST] if not image.repo_tags else []),
        "Created": unix_time(image.created),
        "Size": image.size,
        "VirtualSize": image.size,
        "SharedSize": -1,
        "Labels": dict(image.labels) or None,
        "Containers": -1,
    }


def inspect_json(image: Image, config: ImageConfig) -> dict[str, Any]:
    """The ImageInspect document of GET /images/{name}/json."""
    container_config = {**EMPTY_CONTAINER_CONFIG, **config.config.to_json()}
    comment = config.history[-1].comment if config.history else ""
    return {
        "Id": image.id,
        "RepoTags": list(image.repo_tags),
        "RepoDigests": list(image.repo_digests),
        "Parent": image.parent or "",
        "Comment": comment,
        "Created": config.created or _ZERO_TIME,
        "Container": "",
        "ContainerConfig": dict(EMPTY_CONTAINER_CONFIG),
        "DockerVersion": "",
        "Author": config.author,
        "Config": container_config,
        "Architecture": config.architecture,
        **({"Variant": config.variant} if config.variant else {}),
        "Os": config.os,
        "Size": image.size,
        "VirtualSize": image.size,
        "GraphDriver": {"Name": "overlay", "Data": None},
        "RootFS": {"Type": "layers", "Layers": list(config.diff_ids)},
        "Metadata": {"LastTagTime": image.added_at or _ZERO_TIME},
    }


def history_json(item: HistoryItem) -> dict[str, Any]:
    """One entry of GET /images/{name}/history."""
    return {
        "Id": item.id,
        "Created": item.created,
        "CreatedBy": item.created_by,
        "Tags": list(item.tags) or None,
        "Size": item.size,
        "Comment": item.comment,
    }
