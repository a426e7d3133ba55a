"""The Dockerfile parser: text in, stages of instructions out; nothing is run or read.

    directives      `# escape=``, `# syntax=...` (noted, ignored) at the very top
    lines           comments skipped, continuations (the escape character at the end of a
                    line) joined, heredocs (`<<EOF`, `<<-EOF`, `<<"EOF"`) of RUN, COPY and
                    ADD collected
    instructions    keyword, `--flags`, the rest as written, its JSON (exec) form if any
    stages          the ARGs before the first FROM, then one Stage per FROM

Variables are not substituted here: that needs the ARG and ENV values of the moment, which
`estiba.build.instructions` applies when the builder reaches each step. Every error names
the file, the line and the instruction (`DockerfileError`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from estiba.build.errors import DockerfileError

__all__ = ["Dockerfile", "Heredoc", "Instruction", "Stage", "parse_dockerfile", "KEYWORDS"]

# Each instruction and the flags it accepts.
KEYWORDS: dict[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "RUN": frozenset({"network", "mount", "security"}),
    "CMD": frozenset(),
    "LABEL": frozenset(),
    "MAINTAINER": frozenset(),
    "EXPOSE": frozenset(),
    "ENV": frozenset(),
    "ADD": frozenset({"chown", "chmod", "link", "checksum", "keep-git-dir"}),
    "COPY": frozenset({"from", "chown", "chmod", "link", "parents", "exclude"}),
    "ENTRYPOINT": frozenset(),
    "VOLUME": frozenset(),
    "USER": frozenset(),
    "WORKDIR": frozenset(),
    "ARG": frozenset(),
    "ONBUILD": frozenset(),
    "STOPSIGNAL": frozenset(),
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "start-interval", "retries"}),
    "SHELL": frozenset(),
}
# Flags BuildKit has and the classic builder refuses (dockerd's wording), by instruction.
BUILDKIT_ONLY = {
    "RUN": frozenset({"mount", "security"}),
    "COPY": frozenset({"parents", "exclude"}),
    "ADD": frozenset({"checksum", "keep-git-dir"}),
}
_HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
_JSON_KEYWORDS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "VOLUME", "COPY", "ADD", "HEALTHCHECK"})
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_FLAG = re.compile(r"^--([a-z][a-z0-9-]*)(?:=(.*))?$")


@dataclass(frozen=True)
class Heredoc:
    """The body of a `<<NAME` heredoc; `expand` when its delimiter was not quoted."""

    name: str
    content: str
    expand: bool = True


@dataclass(frozen=True)
class Instruction:
    """One instruction as written: what the builder interprets step by step."""

    keyword: str
    args: str
    line: int
    original: str
    flags: tuple[tuple[str, str], ...] = ()
    json_args: tuple[str, ...] | None = None
    heredocs: tuple[Heredoc, ...] = ()

    def flag(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.flags:
            if key == name:
                return value
        return default

    def has_flag(self, name: str) -> bool:
        return any(key == name for key, _ in self.flags)


@dataclass(frozen=True)
class Stage:
    """A FROM and the instructions up to the next one."""

    index: int
    name: str
    base: str
    platform: str
    source: Instruction
    commands: tuple[Instruction, ...] = ()


@dataclass(frozen=True)
class Dockerfile:
    path: str
    stages: tuple[Stage, ...]
    meta_args: tuple[Instruction, ...] = ()
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)

    def stage_index(self, name_or_index: str) -> int | None:
        """The stage a `--from`, `FROM` or `--target` names (its name, or its number)."""
        wanted = name_or_index.lower()
        for stage in self.stages:
            if stage.name and stage.name == wanted:
                return stage.index
        if wanted.isdigit() and int(wanted) < len(self.stages):
            return int(wanted)
        return None

    def total_steps(self, last_stage: int) -> int:
        stages = self.stages[: last_stage + 1]
        return len(self.meta_args) + len(stages) + sum(len(s.commands) for s in stages)


def parse_dockerfile(text: str, path: str = "Dockerfile") -> Dockerfile:
    """The Dockerfile in `text` (named `path` in errors) as stages of instructions."""
    lines = text.replace("\r\n", "\n").split("\n")
    directives, first = _directives(lines, path)
    escape = directives.get("escape", "\\")
    instructions = list(_instructions(lines, first, escape, path))
    return _stages(instructions, path, escape, directives)


def _directives(lines: list[str], path: str) -> tuple[dict[str, str], int]:
    """The parser directives at the top and the index of the first line after them."""
    found: dict[str, str] = {}
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line.strip()) if line.strip().startswith("#") else None
        if match is None:
            return found, index
        name, value = match.group(1).lower(), match.group(2)
        if name not in ("escape", "syntax", "check"):
            return found, index  # an unknown directive is a comment, and ends the directives
        if name in found:
            raise DockerfileError(path, index + 1, "", f"only one {name} parser directive can be used")
        if name == "escape" and value not in ("\\", "`"):
            raise DockerfileError(path, index + 1, "", f"invalid escape token '{value}' does not match ` or \\")
        found[name] = value
    return found, len(lines)


def _instructions(lines: list[str], start: int, escape: str, path: str):
    continuation = re.compile(re.escape(escape) + r"[ \t]*$")
    index = start
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        first_line = index + 1
        parts = [line.lstrip()]
        while continuation.search(parts[-1]) and index + 1 < len(lines):
            parts[-1] = continuation.sub("", parts[-1])
            index += 1
            following = lines[index]
            while index < len(lines) and (not following.strip() or following.strip().startswith("#")):
                index += 1
                following = lines[index] if index < len(lines) else ""
            if index >= len(lines):
                break
            parts.append(following)
        if continuation.search(parts[-1]):
            parts[-1] = continuation.sub("", parts[-1])
        joined = "".join(parts).strip()
        index += 1
        keyword, _, rest = joined.partition(" ")
        if "\t" in keyword:
            keyword, _, more = keyword.partition("\t")
            rest = more + " " + rest
        keyword = keyword.upper()
        if keyword not in KEYWORDS:
            raise DockerfileError(path, first_line, keyword, f"unknown instruction: {keyword}")
        heredocs: list[Heredoc] = []
        if keyword in _HEREDOC_KEYWORDS and not rest.lstrip().startswith("["):
            for match in _HEREDOC.finditer(rest):
                chomp, quote, name = match.group(1), match.group(2), match.group(3)
                body: list[str] = []
                while True:
                    if index >= len(lines):
                        raise DockerfileError(path, first_line, keyword, f"unterminated heredoc {name}")
                    text = lines[index]
                    index += 1
                    if (text.lstrip("\t") if chomp else text) == name:
                        break
                    body.append(text.lstrip("\t") if chomp else text)
                content = "\n".join(body) + ("\n" if body else "")
                heredocs.append(Heredoc(name, content, expand=not quote))
        yield _instruction(keyword, rest.strip(), first_line, joined, tuple(heredocs), path)


def _instruction(
    keyword: str, rest: str, line: int, original: str, heredocs: tuple[Heredoc, ...], path: str
) -> Instruction:
    flags: list[tuple[str, str]] = []
    words = rest.split(None, 1) if rest else []
    while words and words[0].startswith("--"):
        match = _FLAG.match(words[0])
        if match is None:
            raise DockerfileError(path, line, keyword, f"invalid flag {words[0]}")
        name = match.group(1)
        if name not in KEYWORDS[keyword]:
            raise DockerfileError(path, line, keyword, f"unknown flag: --{name}")
        if name in BUILDKIT_ONLY.get(keyword, ()):
            raise DockerfileError(path, line, keyword, f"the --{name} option requires BuildKit")
        flags.append((name, match.group(2) if match.group(2) is not None else "true"))
        rest = words[1] if len(words) > 1 else ""
        words = rest.split(None, 1) if rest else []
    json_args = None
    if keyword in _JSON_KEYWORDS and rest.startswith("["):
        try:
            value = json.loads(rest)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            json_args = tuple(value)
        elif keyword == "SHELL":
            raise DockerfileError(path, line, keyword, "requires the arguments to be in JSON form")
    if keyword == "SHELL" and json_args is None:
        raise DockerfileError(path, line, keyword, "requires the arguments to be in JSON form")
    if not rest and keyword not in ("CMD", "ENTRYPOINT", "RUN") and not heredocs:
        raise DockerfileError(path, line, keyword, f"{keyword} requires at least one argument")
    return Instruction(keyword, rest, line, original, tuple(flags), json_args, heredocs)


def _stages(
    instructions: list[Instruction], path: str, escape: str, directives: dict[str, str]
) -> Dockerfile:
    meta_args: list[Instruction] = []
    stages: list[Stage] = []
    commands: list[Instruction] = []
    current: Instruction | None = None

    def close() -> None:
        if current is not None:
            stages.append(_stage(len(stages), current, tuple(commands), path))

    for instruction in instructions:
        if instruction.keyword == "FROM":
            close()
            current, commands = instruction, []
        elif current is None:
            if instruction.keyword != "ARG":
                raise DockerfileError(
                    path, instruction.line, instruction.keyword,
                    "no build stage in current context: the first instruction must be FROM",
                )  # fmt: skip
            meta_args.append(instruction)
        else:
            commands.append(instruction)
    close()
    if not stages:
        raise DockerfileError(path, 0, "", "the Dockerfile has no FROM instruction")
    names = [s.name for s in stages if s.name]
    for stage in stages:
        if stage.name and names.count(stage.name) > 1:
            raise DockerfileError(
                path, stage.source.line, "FROM", f"duplicate stage name {stage.name!r}"
            )
    return Dockerfile(path, tuple(stages), tuple(meta_args), escape, dict(directives))


def _stage(index: int, source: Instruction, commands: tuple[Instruction, ...], path: str) -> Stage:
    words = source.args.split()
    name = ""
    if len(words) == 3 and words[1].lower() == "as":
        name = words[2].lower()
        if not re.fullmatch(r"[a-z][a-z0-9._-]*", name):
            raise DockerfileError(path, source.line, "FROM", f"invalid name for build stage: {words[2]!r}")
    elif len(words) != 1:
        raise DockerfileError(path, source.line, "FROM", "FROM requires either one or three arguments")
    return Stage(index, name, words[0], source.flag("platform") or "", source, commands)
