"""What `up`/`create` will do to one service's containers: computed from the model and
the engine's containers, before anything changes (compose v2's convergence rules).

- numbers above the scale go, highest first;
- a container whose config-hash (or image) differs from the model's is recreated, unless
  the policy is "never"; with "force" every one is;
- a container that is up to date stays as it is (its ID kept): started when `up` starts;
- missing numbers are created, the lowest free ones first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from estiba.compose import labels

__all__ = ["Recreate", "ServicePlan", "desired_scale", "plan_service"]


class Recreate:
    DIVERGED = "diverged"  # the default: recreate what changed
    FORCE = "force"  # --force-recreate
    NEVER = "never"  # --no-recreate


@dataclass
class ServicePlan:
    service: str
    keep: list[dict] = field(default_factory=list)  # up to date: left alone (or started)
    recreate: list[dict] = field(default_factory=list)
    remove: list[dict] = field(default_factory=list)  # scale down, highest numbers first
    create: list[int] = field(default_factory=list)  # container numbers to create

    @property
    def changes(self) -> bool:
        return bool(self.recreate or self.remove or self.create)


def desired_scale(service: dict, override: int | None = None) -> int:
    """--scale, else `scale:`, else deploy.replicas, else 1."""
    if override is not None:
        return override
    if service.get("scale") is not None:
        return int(service["scale"])
    replicas = (service.get("deploy") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def plan_service(
    service: str,
    containers: list[dict],
    *,
    scale: int,
    config_hash: str,
    image_id: str | None = None,
    policy: str = Recreate.DIVERGED,
) -> ServicePlan:
    """`containers`: the service's containers as GET /containers/json lists them."""
    plan = ServicePlan(service)
    ordered = sorted(containers, key=lambda c: (labels.number_of(c), c.get("Created", 0)))
    seen: set[int] = set()
    staying: list[dict] = []
    for container in ordered:
        number = labels.number_of(container)
        if number in seen:  # a duplicate number (an interrupted recreate): one is enough
            plan.remove.append(container)
            continue
        seen.add(number)
        staying.append(container)
    excess = staying[scale:] if scale >= 0 else []
    plan.remove.extend(sorted(excess, key=labels.number_of, reverse=True))
    for container in staying[: max(scale, 0)]:
        diverged = policy == Recreate.DIVERGED and _diverged(container, config_hash, image_id)
        if policy == Recreate.FORCE or diverged:
            plan.recreate.append(container)
        else:
            plan.keep.append(container)
    used = {labels.number_of(c) for c in staying[: max(scale, 0)]}
    number = 1
    while len(used) + len(plan.create) < scale:
        if number not in used:
            plan.create.append(number)
        number += 1
    return plan


def _diverged(container: dict, config_hash: str, image_id: str | None) -> bool:
    found = (container.get("Labels") or {}).get(labels.CONFIG_HASH)
    if found != config_hash:
        return True
    if image_id is not None and container.get("ImageID") and container["ImageID"] != image_id:
        return True
    return False
