"""Which services a command works on: profiles and services named on the command line.

A service without `profiles` is always enabled; one with profiles only when one of
them is active (`*` activates all). A service named on the command line is enabled
whatever its profiles, and brings the services it depends on (transitively, links,
`network_mode: service:X` and `volumes_from` included). With names given, the project
holds just that closure; the rest is set aside as disabled.
"""

from __future__ import annotations

from estiba.errors import InvalidArgument

__all__ = ["implicit_dependencies", "select_services"]


def select_services(
    services: dict[str, dict], profiles: list[str], names: list[str]
) -> tuple[dict[str, dict], dict[str, dict]]:
    """(enabled, disabled) services, each a name -> service mapping in `services`' order."""
    for name in names:
        if name not in services:
            raise InvalidArgument(f"no such service: {name}")
    active = set(profiles)
    for name in names:
        active.update(services[name].get("profiles") or [])

    def enabled(service: dict) -> bool:
        own = service.get("profiles") or []
        return not own or "*" in active or bool(active.intersection(own))

    if names:
        chosen: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in chosen or name not in services:
                continue
            chosen.add(name)
            for dep, spec in _dependencies(services[name]).items():
                required = spec.get("required", True) if isinstance(spec, dict) else True
                if required or enabled(services.get(dep, {})):
                    pending.append(dep)
        keep = chosen
    else:
        keep = {name for name, svc in services.items() if enabled(svc)}
    selected = {name: svc for name, svc in services.items() if name in keep}
    disabled = {name: svc for name, svc in services.items() if name not in keep}
    return selected, disabled


def _dependencies(service: dict) -> dict:
    deps = service.get("depends_on") or {}
    deps = dict(deps) if isinstance(deps, dict) else {name: {} for name in deps}
    for name in implicit_dependencies(service):
        deps.setdefault(name, {})
    return deps


def implicit_dependencies(service: dict) -> list[str]:
    """Services `service` needs without saying depends_on: links, network_mode
    `service:X`, volumes_from X. Compose starts them first, as dependencies."""
    names: list[str] = []
    for link in service.get("links") or []:
        names.append(str(link).split(":", 1)[0])
    mode = str(service.get("network_mode") or "")
    if mode.startswith("service:"):
        names.append(mode[len("service:") :])
    for source in service.get("volumes_from") or []:
        source = str(source)
        if not source.startswith("container:"):
            names.append(source.split(":", 1)[0])
    return [name for i, name in enumerate(names) if name not in names[:i]]
