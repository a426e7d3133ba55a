"""What a recreated container takes over from the one it replaces: its anonymous volumes
(compose v2's `inherit`, off with -V/--renew-anon-volumes), so that data kept in a
volume the service never named survives `up` after a change.

An anonymous volume is one mounted where the service declares a volume without a source
(`volumes: [/data]`) or where the image declares a VOLUME that the service leaves alone.
The new container mounts the old one's volume there, by name, instead of a fresh one.
"""

from __future__ import annotations

import posixpath

__all__ = ["inherit_anonymous_volumes"]


def inherit_anonymous_volumes(body: dict, old: dict, image_volumes: dict | None = None) -> list[str]:
    """Change `body` (a POST /containers/create body) so that it mounts the anonymous
    volumes of `old` (its inspect document); returns the names of the volumes taken over.

    `image_volumes` is the image's Config.Volumes ({"/path": {}})."""
    host = body.setdefault("HostConfig", {})
    mounts: list[dict] = host.setdefault("Mounts", [])
    explicit = {posixpath.normpath(m["Target"]) for m in mounts if m.get("Source") or m.get("Type") != "volume"}
    explicit |= {posixpath.normpath(b.split(":")[1]) for b in host.get("Binds") or [] if b.count(":") >= 1}
    anonymous = {posixpath.normpath(m["Target"]) for m in mounts if m.get("Type") == "volume" and not m.get("Source")}
    declared = {posixpath.normpath(p) for p in image_volumes or {}} - explicit
    taken: list[str] = []
    for mount in old.get("Mounts") or []:
        if mount.get("Type") != "volume" or not mount.get("Name"):
            continue
        target = posixpath.normpath(mount.get("Destination") or "")
        if target not in anonymous and target not in declared:
            continue
        mounts[:] = [m for m in mounts if posixpath.normpath(m["Target"]) != target]
        mounts.append({"Type": "volume", "Source": mount["Name"], "Target": target,
                       "ReadOnly": not mount.get("RW", True)})
        taken.append(mount["Name"])
    if not mounts:
        del host["Mounts"]
    return taken
