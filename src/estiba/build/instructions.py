"""What each instruction means once the variables of its moment are known: pure functions
from (instruction, image run config, variables) to a new run config, a command or a copy.

The builder walks a stage's instructions and calls these; none of them touches the system.
`created_by` strings follow Docker's classic builder (`/bin/sh -c #(nop)  ENV a=b`), so
`docker history` reads the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from estiba.build.dockerfile import KEYWORDS, Instruction
from estiba.build.errors import DockerfileError
from estiba.build.expand import process_word, process_words, split_raw_words
from estiba.errors import InvalidArgument
from estiba.images.model import ContainerConfig, Healthcheck

__all__ = [
    "CopySpec",
    "DEFAULT_SHELL",
    "apply_metadata",
    "copy_spec",
    "go_quote_list",
    "nop",
    "parse_arg",
    "run_argv",
    "METADATA",
]

DEFAULT_SHELL = ("/bin/sh", "-c")
# Instructions that only change the image config (no filesystem change, no container).
METADATA = frozenset(
    {"CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ENTRYPOINT", "VOLUME", "USER",
     "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
)  # fmt: skip
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


class _Where:
    def __init__(self, path: str, instruction: Instruction) -> None:
        self.path = path
        self.instruction = instruction

    def error(self, message: str) -> DockerfileError:
        return DockerfileError(self.path, self.instruction.line, self.instruction.keyword, message)


def shell_of(config: ContainerConfig) -> tuple[str, ...]:
    return tuple(config.shell) if config.shell else DEFAULT_SHELL


def nop(config: ContainerConfig, text: str) -> str:
    """The history line of a step that runs nothing: Docker's `#(nop)` comment."""
    return " ".join([*shell_of(config), "#(nop) ", text])


def go_quote_list(items: tuple[str, ...] | list[str]) -> str:
    """Go's `%q` of a []string: `["sh" "-c" "x"]`."""
    return "[" + " ".join(json.dumps(item, ensure_ascii=False) for item in items) + "]"


def expand(instruction: Instruction, text: str, env: Mapping[str, str], escape: str, path: str) -> str:
    try:
        return process_word(text, env, escape)
    except InvalidArgument as exc:
        raise _Where(path, instruction).error(exc.message) from None


def words(instruction: Instruction, env: Mapping[str, str], escape: str, path: str) -> list[str]:
    if instruction.json_args is not None:
        return list(instruction.json_args)
    try:
        return process_words(instruction.args, env, escape)
    except InvalidArgument as exc:
        raise _Where(path, instruction).error(exc.message) from None


def key_values(
    instruction: Instruction, env: Mapping[str, str], escape: str, path: str
) -> list[tuple[str, str]]:
    """ENV and LABEL: `k=v k2="v 2"`, or the legacy `k v w` (the key and the rest)."""
    where = _Where(path, instruction)
    raw = split_raw_words(instruction.args, escape)
    if not raw:
        raise where.error(f"{instruction.keyword} requires at least one argument")
    pairs: list[tuple[str, str]] = []
    if "=" not in raw[0]:
        key, _, rest = instruction.args.strip().partition(" ")
        if instruction.keyword == "ENV" and not rest.strip():
            raise where.error("ENV must have two arguments")
        if not rest.strip():
            raise where.error(f"{instruction.keyword} requires a value for {key}")
        return [(key, expand(instruction, rest.strip(), env, escape, path))]
    for word in raw:
        key, eq, value = word.partition("=")
        if not eq:
            raise where.error(f"{word!r}: key=value expected (the legacy `KEY VALUE` form takes one pair)")
        key = expand(instruction, key, env, escape, path)
        if not key:
            raise where.error("a key must not be empty")
        pairs.append((key, expand(instruction, value, env, escape, path)))
    return pairs


def parse_arg(instruction: Instruction, env: Mapping[str, str], escape: str, path: str) -> tuple[str, str | None]:
    """`ARG name` or `ARG name=default` (the default with variables substituted)."""
    raw = split_raw_words(instruction.args, escape)
    if len(raw) != 1:
        raise _Where(path, instruction).error("ARG requires exactly one argument")
    name, eq, default = raw[0].partition("=")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise _Where(path, instruction).error(f"invalid ARG name {name!r}")
    return name, expand(instruction, default, env, escape, path) if eq else None


def run_argv(instruction: Instruction, config: ContainerConfig) -> tuple[str, ...]:
    """A RUN's command: the exec form as written, else the shell form through the SHELL.
    A heredoc that is the whole command is the script itself; one fed to a command stays
    in the text for the shell to read."""
    if instruction.json_args is not None:
        return instruction.json_args
    text = instruction.args
    if instruction.heredocs:
        first = instruction.heredocs[0]
        head = re.sub(r"<<-?(['\"]?)" + re.escape(first.name) + r"\1", "", text).strip()
        if not head and len(instruction.heredocs) == 1:
            text = first.content
            if text.startswith("#!"):
                # A script with its interpreter: fed to it on stdin, as BuildKit runs it.
                interpreter = text.splitlines()[0][2:].strip()
                text = f"{interpreter} <<'ESTIBA_HEREDOC'\n{text}ESTIBA_HEREDOC\n"
        else:
            text = text + "\n" + "".join(f"{h.content}{h.name}\n" for h in instruction.heredocs)
    return (*shell_of(config), text)


def _cmd_form(instruction: Instruction, config: ContainerConfig) -> tuple[str, ...]:
    if instruction.json_args is not None:
        return instruction.json_args
    return (*shell_of(config), instruction.args)


def apply_metadata(
    instruction: Instruction,
    config: ContainerConfig,
    env: Mapping[str, str],
    *,
    escape: str = "\\",
    path: str = "Dockerfile",
    cmd_set: bool = False,
) -> tuple[ContainerConfig, str]:
    """The run config after a metadata instruction, and the step's history line."""
    where = _Where(path, instruction)
    keyword = instruction.keyword
    if keyword == "ENV":
        current = dict(config.env_dict())
        pairs = key_values(instruction, env, escape, path)
        current.update(pairs)
        new = replace(config, env=tuple(f"{k}={v}" for k, v in current.items()))
        return new, nop(config, "ENV " + " ".join(f"{k}={v}" for k, v in pairs))
    if keyword == "LABEL":
        pairs = key_values(instruction, env, escape, path)
        labels = {**config.labels, **dict(pairs)}
        shown = " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in pairs)
        return replace(config, labels=labels), nop(config, "LABEL " + shown)
    if keyword == "MAINTAINER":
        return config, nop(config, "MAINTAINER " + instruction.args)
    if keyword == "CMD":
        cmd = _cmd_form(instruction, config)
        return replace(config, cmd=cmd), nop(config, "CMD " + go_quote_list(cmd))
    if keyword == "ENTRYPOINT":
        entrypoint = _cmd_form(instruction, config) if instruction.args else ()
        # dockerd: an ENTRYPOINT resets a CMD inherited from the base image.
        cmd = config.cmd if cmd_set else None
        new = replace(config, entrypoint=entrypoint or None, cmd=cmd)
        return new, nop(config, "ENTRYPOINT " + go_quote_list(entrypoint))
    if keyword == "EXPOSE":
        ports = list(config.exposed_ports)
        for word in words(instruction, env, escape, path):
            for port in expose_ports(word, where):
                if port not in ports:
                    ports.append(port)
        shown = " ".join(ports)
        return replace(config, exposed_ports=tuple(ports)), nop(config, "EXPOSE " + shown)
    if keyword == "VOLUME":
        volumes = list(config.volumes)
        found = words(instruction, env, escape, path)
        for volume in found:
            if not volume.strip():
                raise where.error("VOLUME specified can not be an empty string")
            if volume not in volumes:
                volumes.append(volume)
        return replace(config, volumes=tuple(volumes)), nop(config, "VOLUME " + go_quote_list(found))
    if keyword == "USER":
        user = expand(instruction, instruction.args, env, escape, path)
        return replace(config, user=user), nop(config, "USER " + user)
    if keyword == "STOPSIGNAL":
        signal = expand(instruction, instruction.args, env, escape, path)
        if not re.fullmatch(r"(SIG)?[A-Z0-9+-]+|\d+", signal):
            raise where.error(f"invalid signal: {signal}")
        return replace(config, stop_signal=signal), nop(config, "STOPSIGNAL " + signal)
    if keyword == "SHELL":
        shell = instruction.json_args or ()
        if not shell:
            raise where.error("SHELL requires at least one argument")
        return replace(config, shell=shell), nop(config, "SHELL " + go_quote_list(shell))
    if keyword == "ONBUILD":
        trigger = instruction.args
        inner = trigger.split(None, 1)[0].upper() if trigger else ""
        if inner in ("ONBUILD", "FROM", "MAINTAINER"):
            raise where.error(f"{inner} isn't allowed as an ONBUILD trigger")
        if inner not in KEYWORDS:
            raise where.error(f"unknown instruction: {inner}")
        normalised = inner + trigger[len(inner):]
        return replace(config, on_build=(*config.on_build, normalised)), nop(config, "ONBUILD " + normalised)
    if keyword == "HEALTHCHECK":
        check = healthcheck(instruction, config, where)
        return replace(config, healthcheck=check), nop(config, "HEALTHCHECK " + _health_text(check))
    raise where.error(f"{keyword} is not a metadata instruction")


def expose_ports(word: str, where: _Where) -> list[str]:
    port, _, proto = word.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise where.error(f"invalid proto: {proto}")
    low, dash, high = port.partition("-")
    if not low.isdigit() or (dash and not high.isdigit()):
        raise where.error(f"invalid containerPort: {port}")
    first, last = int(low), int(high) if dash else int(low)
    if not 0 < first <= last <= 65535:
        raise where.error(f"invalid port range: {port}")
    return [f"{n}/{proto}" for n in range(first, last + 1)]


def parse_duration(text: str, where: _Where, flag: str) -> int:
    """Go's time.ParseDuration, in nanoseconds."""
    if text in ("0", ""):
        return 0
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise where.error(f"--{flag}: invalid duration {text!r}")
    return int(total)


def healthcheck(instruction: Instruction, config: ContainerConfig, where: _Where) -> Healthcheck:
    args = instruction.args
    first = args.split(None, 1)[0].upper() if args else ""
    if first == "NONE":
        if args.strip().upper() != "NONE" or instruction.flags:
            raise where.error("HEALTHCHECK NONE takes no arguments")
        return Healthcheck(test=("NONE",))
    if first != "CMD":
        raise where.error("Unknown type in HEALTHCHECK (try CMD)")
    rest = args.split(None, 1)[1] if len(args.split(None, 1)) > 1 else ""
    if not rest:
        raise where.error("Missing command after HEALTHCHECK CMD")
    if rest.startswith("["):
        try:
            argv = json.loads(rest)
        except json.JSONDecodeError:
            argv = None
        if isinstance(argv, list) and all(isinstance(a, str) for a in argv):
            test = ("CMD", *argv)
        else:
            test = ("CMD-SHELL", rest)
    else:
        test = ("CMD-SHELL", rest)
    retries_text = instruction.flag("retries", "0") or "0"
    if not retries_text.isdigit():
        raise where.error(f"--retries: invalid number {retries_text!r}")
    return Healthcheck(
        test=test,
        interval=parse_duration(instruction.flag("interval", "") or "", where, "interval"),
        timeout=parse_duration(instruction.flag("timeout", "") or "", where, "timeout"),
        start_period=parse_duration(instruction.flag("start-period", "") or "", where, "start-period"),
        start_interval=parse_duration(instruction.flag("start-interval", "") or "", where, "start-interval"),
        retries=int(retries_text),
    )


def _health_text(check: Healthcheck) -> str:
    return "&{" + go_quote_list(check.test) + f" {_go_duration(check.interval)} {_go_duration(check.timeout)}" \
        f" {_go_duration(check.start_period)} {_go_duration(check.start_interval)} {check.retries}}}"


def _go_duration(ns: int) -> str:
    if ns == 0:
        return "0s"
    seconds = ns / 1e9
    return f"{seconds:g}s"


@dataclass(frozen=True)
class CopySpec:
    """A COPY or ADD with its words resolved: sources, the destination (absolute), and
    the options that change what lands there."""

    keyword: str
    sources: tuple[str, ...]
    dest: str
    dest_is_dir: bool
    source_stage: str = ""
    chown: str = ""
    chmod: int | None = None
    heredocs: Mapping[str, tuple[str, bool]] | None = None  # name -> (content, expand)


def copy_spec(
    instruction: Instruction,
    env: Mapping[str, str],
    working_dir: str,
    *,
    escape: str = "\\",
    path: str = "Dockerfile",
) -> CopySpec:
    where = _Where(path, instruction)
    found = words(instruction, env, escape, path)
    if len(found) < 2:
        raise where.error(f"{instruction.keyword} requires at least two arguments")
    *sources, dest = found
    heredocs = {h.name: (h.content, h.expand) for h in instruction.heredocs}
    resolved_sources = []
    for source in sources:
        match = re.fullmatch(r"<<-?(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1", source)
        resolved_sources.append("<<" + match.group(2) if match else source)
    dest_is_dir = dest.endswith("/") or dest.endswith("/.") or dest == "." or len(sources) > 1
    if not dest.startswith("/"):
        dest = (working_dir.rstrip("/") or "") + "/" + dest
    dest = _clean(dest).rstrip("/") or "/"
    chmod = None
    chmod_text = instruction.flag("chmod")
    if chmod_text:
        chmod_text = expand(instruction, chmod_text, env, escape, path)
        if not re.fullmatch(r"[0-7]{3,4}", chmod_text):
            raise where.error(f"invalid --chmod {chmod_text!r}: give an octal mode such as 755")
        chmod = int(chmod_text, 8)
    source_stage = expand(instruction, instruction.flag("from") or "", env, escape, path)
    if source_stage and instruction.keyword == "ADD":
        raise where.error("ADD has no --from: use COPY --from")
    return CopySpec(
        keyword=instruction.keyword,
        sources=tuple(resolved_sources),
        dest=dest,
        dest_is_dir=dest_is_dir,
        source_stage=source_stage,
        chown=expand(instruction, instruction.flag("chown") or "", env, escape, path),
        chmod=chmod,
        heredocs=heredocs or None,
    )


def workdir(instruction: Instruction, config: ContainerConfig, env: Mapping[str, str], escape: str, path: str) -> str:
    value = expand(instruction, instruction.args, env, escape, path)
    if not value.startswith("/"):
        value = (config.working_dir or "/").rstrip("/") + "/" + value
    return _clean(value)


def _clean(path: str) -> str:
    import posixpath

    trailing = path.endswith("/") and path != "/"
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned + ("/" if trailing and cleaned != "/" else "")
