"""`docker images --filter`: which images a listing shows, and with which of their names."""

from __future__ import annotations

from estiba.images._records import Image, ImageFilters
from estiba.images.reference import familiar_match, parse_reference


def filtered(image: Image, filters: ImageFilters, *, has_children: bool) -> Image | None:
    """The image as `docker images` lists it under these filters, or None if filtered out."""
    for label in filters.labels:
        key, _, value = label.partition("=")
        if key not in image.labels or ("=" in label and image.labels[key] != value):
            return None
    tags, digests = image.repo_tags, image.repo_digests
    if filters.references:

        def matches(text: str) -> bool:
            ref = parse_reference(text, default_tag=False)
            return any(familiar_match(pattern, ref) for pattern in filters.references)

        tags = tuple(t for t in tags if matches(t))
        digests = tuple(d for d in digests if matches(d))
        if not tags and not digests:
            return None
    if not tags and not digests:
        if has_children and not filters.all:
            return None
        if filters.dangling is False:
            return None
    elif filters.dangling is True and tags:
        return None
    return image.with_refs(tags, digests)
