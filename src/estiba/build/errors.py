"""The build's own errors: both are kinds of `estiba.errors`, so the API and the CLI
translate them as any other."""

from __future__ import annotations

from estiba.errors import EstibaError, InvalidArgument

__all__ = ["BuildFailed", "DockerfileError"]


class DockerfileError(InvalidArgument):
    """A Dockerfile that cannot be built: names the file, the line and the instruction."""

    def __init__(self, path: str, line: int, instruction: str, message: str) -> None:
        where = f"{path}:{line}" if line else path
        text = f"{where}: {instruction}: {message}" if instruction else f"{where}: {message}"
        super().__init__(text)
        self.path = path
        self.line = line
        self.instruction = instruction


class BuildFailed(EstibaError):
    """A step that ran and failed; `exit_code` is the RUN's (Docker passes it on)."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
