"""Docker's `rmi` rules as a pure decision: what to untag, whether to delete, or a Conflict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from estiba.errors import Conflict
from estiba.images._records import ImageUser, short_id
from estiba.images.reference import Reference


@dataclass(frozen=True)
class RemovalPlan:
    untag: tuple[Reference, ...]
    delete: bool


def plan_removal(
    *,
    image_id: str,
    given: Reference | None,
    refs: Sequence[Reference],
    users: Sequence[ImageUser],
    has_children: bool,
    force: bool,
) -> RemovalPlan:
    """Decide what `docker rmi <given or id>` does to an image with these refs and users.

    By name: untag that name (and the digest refs of the same repository once no tag of it
    is left); the image goes only when no reference is left and no container uses it. By id:
    the image goes with all its references, unless they span several repositories or a
    container uses it: those need `force`; a running container or child images never yield.
    """
    untag: list[Reference] = []
    remaining = list(refs)
    if given is not None:
        if users and not force and len(refs) == 1:
            raise Conflict(
                f"conflict: unable to remove repository reference {given.familiar()!r} "
                f"(must force) - container {short_id(users[0].container_id)} is using its "
                f"referenced image {short_id(image_id)}"
            )
        untag.append(given)
        remaining = [r for r in remaining if r != given]
        if given.digest is None and not any(
            r.digest is None and r.name == given.name for r in remaining
        ):
            same_repo_digests = [
                r for r in remaining if r.digest is not None and r.name == given.name
            ]
            untag += same_repo_digests
            remaining = [r for r in remaining if r not in same_repo_digests]
        if remaining:
            return RemovalPlan(tuple(untag), delete=False)
        # The last name went: delete quietly, but keep a used image (now dangling) around.
        if users or has_children:
            return RemovalPlan(tuple(untag), delete=False)
        return RemovalPlan(tuple(untag), delete=True)

    if _single_reference(remaining):
        untag += remaining
        remaining = []
    _check_conflicts(image_id, remaining, users, has_children, force)
    return RemovalPlan(tuple(untag + remaining), delete=True)


def _check_conflicts(
    image_id: str,
    remaining: Sequence[Reference],
    users: Sequence[ImageUser],
    has_children: bool,
    force: bool,
) -> None:
    short = short_id(image_id)
    if has_children:
        raise Conflict(
            f"conflict: unable to delete {short} (cannot be forced) - "
            "image has dependent child images"
        )
    running = [u for u in users if u.running]
    if running:
        raise Conflict(
            f"conflict: unable to delete {short} (cannot be forced) - image is being used by "
            f"running container {short_id(running[0].container_id)}"
        )
    if force:
        return
    if remaining:
        raise Conflict(
            f"conflict: unable to delete {short} (must be forced) - image is referenced in "
            "multiple repositories"
        )
    if users:
        raise Conflict(
            f"conflict: unable to delete {short} (must be forced) - image is being used by "
            f"stopped container {short_id(users[0].container_id)}"
        )


def _single_reference(refs: Sequence[Reference]) -> bool:
    """At most one tag, and every digest ref in that same repository (Docker's rule)."""
    if len(refs) <= 1:
        return len(refs) == 1
    tags = [r for r in refs if r.digest is None]
    if len(tags) > 1:
        return False
    digest_repos = {r.name for r in refs if r.digest is not None}
    single = tags[0] if tags else refs[0]
    return len(digest_repos) == 1 and single.name in digest_repos
