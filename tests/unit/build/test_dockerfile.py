"""The Dockerfile parser: instructions, directives, continuations, heredocs, errors."""

from __future__ import annotations

import pytest

from estiba.build.dockerfile import parse_dockerfile
from estiba.build.errors import DockerfileError


def commands(text: str):
    return parse_dockerfile(text).stages[0].commands


def test_every_instruction_is_known():
    text = """FROM --platform=linux/amd64 busybox AS base
RUN echo hi
CMD ["sh"]
LABEL a=b
MAINTAINER me
EXPOSE 80
ENV A=1
ADD --chown=1:1 --chmod=644 a.tar /x/
COPY --from=base --chown=1 --chmod=755 --link a /b
ENTRYPOINT ["sh", "-c"]
VOLUME /data
USER nobody
WORKDIR /w
ARG X=1
ONBUILD RUN echo later
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s CMD true
SHELL ["/bin/sh", "-ec"]
"""
    df = parse_dockerfile(text)
    stage = df.stages[0]
    assert stage.name == "base" and stage.base == "busybox" and stage.platform == "linux/amd64"
    keywords = [c.keyword for c in stage.commands]
    assert keywords == [
        "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
        "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
    ]  # fmt: skip
    copy = stage.commands[7]
    assert copy.flag("from") == "base" and copy.flag("chown") == "1" and copy.has_flag("link")
    assert copy.args == "a /b"
    assert stage.commands[1].json_args == ("sh",)
    assert stage.commands[0].json_args is None
    assert stage.commands[-1].json_args == ("/bin/sh", "-ec")


def test_keywords_are_case_insensitive_and_lines_are_numbered():
    df = parse_dockerfile("# comment\n\nfrom busybox\n\nrun echo a\n")
    assert df.stages[0].source.line == 3
    assert df.stages[0].commands[0].keyword == "RUN" and df.stages[0].commands[0].line == 5


def test_line_continuations_skip_comments_and_blank_lines():
    run = commands("FROM busybox\nRUN echo a \\\n# inside\n\n    && echo b\nCMD x\n")[0]
    assert run.args == "echo a     && echo b"
    assert run.line == 2
    assert commands("FROM busybox\nRUN echo a \\\n    && echo b\nCMD x\n")[1].line == 4


def test_escape_directive_changes_the_continuation_character():
    df = parse_dockerfile("# escape=`\nFROM busybox\nRUN echo a `\n  b\nCOPY c:\\dir\\ /x\n")
    assert df.escape == "`"
    run, copy = df.stages[0].commands
    assert run.args == "echo a   b"
    assert copy.args == "c:\\dir\\ /x"


def test_syntax_directive_is_noted_and_ignored():
    df = parse_dockerfile("# syntax=docker/dockerfile:1\nFROM busybox\n")
    assert df.directives == {"syntax": "docker/dockerfile:1"}


def test_directives_only_at_the_top():
    df = parse_dockerfile("FROM busybox\n# escape=`\nRUN echo \\\n a\n")
    assert df.escape == "\\"
    assert df.stages[0].commands[0].args == "echo  a"


def test_bad_escape_directive():
    with pytest.raises(DockerfileError, match="invalid escape token"):
        parse_dockerfile("# escape=x\nFROM busybox\n")


def test_heredoc_run_and_copy():
    text = "FROM busybox\nRUN <<EOF\necho one\necho two\nEOF\nCOPY <<-'END' /greeting\n\thello $NAME\n\tEND\nCMD x\n"
    run, copy, cmd = commands(text)
    assert run.heredocs[0].name == "EOF"
    assert run.heredocs[0].content == "echo one\necho two\n"
    assert copy.heredocs[0].content == "hello $NAME\n" and not copy.heredocs[0].expand
    assert cmd.keyword == "CMD" and cmd.line == 9


def test_unterminated_heredoc():
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: RUN: unterminated heredoc EOF"):
        parse_dockerfile("FROM busybox\nRUN <<EOF\necho\n")


def test_meta_args_before_the_first_from_and_stages():
    df = parse_dockerfile("ARG BASE=busybox\nFROM ${BASE} AS one\nRUN a\nFROM one\nRUN b\n")
    assert [a.args for a in df.meta_args] == ["BASE=busybox"]
    assert [s.name for s in df.stages] == ["one", ""]
    assert df.stage_index("one") == 0 and df.stage_index("1") == 1 and df.stage_index("nope") is None
    assert df.total_steps(1) == 5
    assert df.total_steps(0) == 3


def test_unknown_instruction_names_file_line_and_instruction():
    with pytest.raises(DockerfileError) as info:
        parse_dockerfile("FROM busybox\nRUN true\nFOO bar\n", "app/Dockerfile")
    assert str(info.value) == "app/Dockerfile:3: FOO: unknown instruction: FOO"
    assert info.value.line == 3


def test_instruction_before_from():
    with pytest.raises(DockerfileError, match=r"Dockerfile:1: RUN: .*must be FROM"):
        parse_dockerfile("RUN true\nFROM busybox\n")


def test_no_from_at_all():
    with pytest.raises(DockerfileError, match="no FROM"):
        parse_dockerfile("# nothing\n")


def test_unknown_flag():
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: COPY: unknown flag: --nope"):
        parse_dockerfile("FROM busybox\nCOPY --nope=1 a b\n")


def test_missing_arguments_and_bad_from():
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: WORKDIR: WORKDIR requires"):
        parse_dockerfile("FROM busybox\nWORKDIR\n")
    with pytest.raises(DockerfileError, match=r"Dockerfile:1: FROM: FROM requires either one or three"):
        parse_dockerfile("FROM a b\n")
    with pytest.raises(DockerfileError, match="duplicate stage name"):
        parse_dockerfile("FROM busybox AS x\nFROM busybox AS x\n")


def test_shell_needs_json():
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: SHELL: requires the arguments to be in JSON form"):
        parse_dockerfile("FROM busybox\nSHELL /bin/bash -c\n")


def test_buildkit_only_flags_are_refused():
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: RUN: the --mount option requires BuildKit"):
        parse_dockerfile("FROM busybox\nRUN --mount=type=cache,target=/x true\n")
    # --link changes nothing in a classic build: accepted.
    assert commands("FROM busybox\nCOPY --link a /b\n")[0].has_flag("link")
