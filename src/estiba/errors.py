"""The one error vocabulary of Estiba: every failure is raised as one of these kinds.

Each edge translates them exactly once: the API to HTTP status codes, the CLIs to exit
codes and one line on stderr. Messages are short and say what to do next.
"""

from __future__ import annotations


class EstibaError(Exception):
    """Base of every error Estiba raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}: {self.hint}"
        return self.message


class NotFound(EstibaError):
    """The named object (container, image, file, bundle) does not exist."""


class InvalidArgument(EstibaError):
    """The caller asked for something malformed: bad flag, bad config, bad reference."""


class Conflict(EstibaError):
    """The request clashes with the current state (name taken, container running)."""


class NotModified(EstibaError):
    """Nothing to do: the object is already in the requested state."""


class Unauthorized(EstibaError):
    """Credentials are missing or wrong."""


class Forbidden(EstibaError):
    """The operation is not allowed, whoever asks."""


class Unavailable(EstibaError):
    """A resource the operation needs is not there right now (daemon, registry, kernel feature)."""


class Unsupported(EstibaError):
    """The operation is valid but this build of Estiba does not do it (the NotImplemented kind)."""


class SystemFault(EstibaError):
    """The kernel or the filesystem refused an operation that should have worked."""
