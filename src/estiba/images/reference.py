"""Image references: parse, normalise and print them the way Docker does.

`busybox` is `docker.io/library/busybox:latest`; `host:5000/ns/name:tag`, `name@sha256:…`
and `name:tag@sha256:…` keep what they say. `familiar()` is the short form docker prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from estiba.errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DOMAIN_RE = re.compile(_DOMAIN)
_TAG_RE = re.compile(_TAG)
_DIGEST_RE = re.compile(_DIGEST)
_SHA256_RE = re.compile(r"sha256:[0-9a-f]{64}")
_HEX64_RE = re.compile(r"[a-f0-9]{64}")


@dataclass(frozen=True)
class Reference:
    """A normalised reference: `domain/path[:tag][@digest]`."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The full repository name, `docker.io/library/busybox`."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The repository as docker prints it: `busybox`, `user/app`, `host:5000/a/b`."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if (
            self.path.startswith(OFFICIAL_REPO_PREFIX)
            and "/" not in self.path[len(OFFICIAL_REPO_PREFIX) :]
        ):
            return self.path[len(OFFICIAL_REPO_PREFIX) :]
        return self.path

    def familiar(self) -> str:
        """The reference as docker prints it: `busybox:latest`, `host:5000/a/b:t@sha256:…`."""
        return self.familiar_name + self._suffix()

    def __str__(self) -> str:
        return self.name + self._suffix()

    def with_tag(self, tag: str) -> Reference:
        if not _TAG_RE.fullmatch(tag):
            raise InvalidArgument(f"invalid tag format {tag!r}")
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: str) -> Reference:
        _check_digest(digest)
        return Reference(self.domain, self.path, None, digest)

    def repository(self) -> Reference:
        """The name alone, without tag or digest."""
        return Reference(self.domain, self.path)

    def _suffix(self) -> str:
        suffix = f":{self.tag}" if self.tag else ""
        return suffix + (f"@{self.digest}" if self.digest else "")


def parse_reference(text: str, *, default_tag: bool = True) -> Reference:
    """Parse and normalise `text`; add the `latest` tag when it has neither tag nor digest
    (unless `default_tag` is false: `docker images busybox` means every tag)."""
    if not isinstance(text, str) or not text:
        raise InvalidArgument("invalid reference format: empty reference")
    remainder, digest = text, None
    if "@" in remainder:
        remainder, digest = remainder.split("@", 1)
        _check_digest(digest)
    name, tag = _split_tag(remainder)
    if tag is not None and not _TAG_RE.fullmatch(tag):
        raise InvalidArgument(f"invalid reference format: bad tag {tag!r} in {text!r}")
    domain, path = _split_domain(name, text)
    if not _PATH_RE.fullmatch(path):
        if path.lower() != path and _PATH_RE.fullmatch(path.lower()):
            raise InvalidArgument(
                f"invalid reference format: repository name must be lowercase: {text!r}"
            )
        raise InvalidArgument(f"invalid reference format: {text!r}")
    if len(domain) + 1 + len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidArgument(
            "invalid reference format: repository name longer than "
            f"{NAME_TOTAL_LENGTH_MAX} characters"
        )
    if _HEX64_RE.fullmatch(name):
        raise InvalidArgument(
            f"invalid repository name {text!r}: cannot specify 64-byte hexadecimal strings"
        )
    if default_tag and tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def is_image_id(text: str) -> bool:
    """True for a full image id: `sha256:<64 hex>` or the 64 hex digits alone."""
    return bool(_SHA256_RE.fullmatch(text) or _HEX64_RE.fullmatch(text))


def familiar_match(pattern: str, reference: Reference) -> bool:
    """Docker's `reference=` filter: a glob over the familiar name, with or without the tag."""
    regex = _glob_to_regex(pattern)
    return bool(regex.fullmatch(reference.familiar()) or regex.fullmatch(reference.familiar_name))


def _split_tag(remainder: str) -> tuple[str, str | None]:
    """Split `name[:tag]`: the tag is after the last colon, unless that colon is in the domain."""
    colon = remainder.rfind(":")
    if colon > remainder.rfind("/"):
        return remainder[:colon], remainder[colon + 1 :]
    return remainder, None


def _split_domain(name: str, text: str) -> tuple[str, str]:
    slash = name.find("/")
    first = name[:slash] if slash >= 0 else ""
    if slash < 0 or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, name[slash + 1 :]
        if not _DOMAIN_RE.fullmatch(domain):
            raise InvalidArgument(f"invalid reference format: bad domain {domain!r} in {text!r}")
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_REPO_PREFIX + path
    return domain, path


def _check_digest(digest: str) -> None:
    if not _DIGEST_RE.fullmatch(digest):
        raise InvalidArgument(f"invalid reference format: bad digest {digest!r}")
    if digest.startswith("sha256:") and not _SHA256_RE.fullmatch(digest):
        raise InvalidArgument(f"invalid reference format: bad sha256 digest {digest!r}")


def _glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Go's path.Match: `*` and `?` never cross a `/`; `[...]` classes pass through."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise InvalidArgument(f"invalid reference filter pattern {pattern!r}")
            body = pattern[i + 1 : end]
            out.append(
                "["
                + ("^" + body[1:] if body.startswith("^") else re.escape(body).replace("\\-", "-"))
                + "]"
            )
            i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))
