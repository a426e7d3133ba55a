"""What instructions mean: run configs, commands and copies, computed without a system."""

from __future__ import annotations

import pytest

from estiba.build.dockerfile import parse_dockerfile
from estiba.build.errors import DockerfileError
from estiba.build.instructions import apply_metadata, copy_spec, parse_arg, run_argv, workdir
from estiba.images.model import ContainerConfig

BASE = ContainerConfig(env=("PATH=/bin",), cmd=("sh",))


def one(line: str):
    return parse_dockerfile(f"FROM busybox\n{line}\n").stages[0].commands[0]


def apply(line: str, config: ContainerConfig = BASE, env=None, **kw):
    return apply_metadata(one(line), config, env or {}, **kw)


def test_env_both_forms():
    config, created_by = apply('ENV A=1 B="two words" C=${A}x')
    assert config.env == ("PATH=/bin", "A=1", "B=two words", "C=x")
    assert created_by == "/bin/sh -c #(nop)  ENV A=1 B=two words C=x"
    config, _ = apply("ENV NAME the rest of it")
    assert config.env_dict()["NAME"] == "the rest of it"


def test_label_expose_volume_user_stopsignal():
    config, created_by = apply('LABEL "com.x"="y z" v=$V', env={"V": "1"})
    assert config.labels == {"com.x": "y z", "v": "1"}
    assert created_by.endswith('LABEL "com.x"="y z" "v"="1"')
    config, _ = apply("EXPOSE 80 53/udp 8000-8002")
    assert config.exposed_ports == ("80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp")
    config, _ = apply('VOLUME ["/data", "/logs"]')
    assert config.volumes == ("/data", "/logs")
    config, _ = apply("USER ${U:-nobody}")
    assert config.user == "nobody"
    config, _ = apply("STOPSIGNAL SIGQUIT")
    assert config.stop_signal == "SIGQUIT"


def test_cmd_and_entrypoint():
    config, created_by = apply('CMD ["echo", "hi"]')
    assert config.cmd == ("echo", "hi")
    assert created_by == '/bin/sh -c #(nop)  CMD ["echo" "hi"]'
    config, _ = apply("CMD echo $HOME")
    assert config.cmd == ("/bin/sh", "-c", "echo $HOME")  # the shell substitutes, not us
    # An ENTRYPOINT drops the base image's CMD, not one this stage set.
    config, _ = apply('ENTRYPOINT ["top"]')
    assert config.entrypoint == ("top",) and config.cmd is None
    config, _ = apply('ENTRYPOINT ["top"]', cmd_set=True)
    assert config.cmd == ("sh",)


def test_shell_changes_the_shell_form():
    config, _ = apply('SHELL ["/bin/bash", "-ec"]')
    assert run_argv(one("RUN echo hi"), config) == ("/bin/bash", "-ec", "echo hi")
    assert run_argv(one('RUN ["echo", "hi"]'), config) == ("echo", "hi")


def test_heredoc_run_is_the_script():
    instruction = parse_dockerfile("FROM b\nRUN <<EOF\necho a\necho b\nEOF\n").stages[0].commands[0]
    assert run_argv(instruction, BASE) == ("/bin/sh", "-c", "echo a\necho b\n")
    instruction = parse_dockerfile("FROM b\nRUN cat <<EOF > /f\nx\nEOF\n").stages[0].commands[0]
    assert run_argv(instruction, BASE) == ("/bin/sh", "-c", "cat <<EOF > /f\nx\nEOF\n")


def test_healthcheck_and_onbuild():
    config, _ = apply("HEALTHCHECK --interval=1m30s --timeout=5s --retries=3 CMD curl -f http://x/")
    check = config.healthcheck
    assert check.test == ("CMD-SHELL", "curl -f http://x/")
    assert check.interval == 90 * 10**9 and check.timeout == 5 * 10**9 and check.retries == 3
    config, _ = apply("HEALTHCHECK NONE")
    assert config.healthcheck.test == ("NONE",)
    config, _ = apply("ONBUILD run echo later")
    assert config.on_build == ("RUN echo later",)
    with pytest.raises(DockerfileError, match="Dockerfile:2: ONBUILD: FROM isn't allowed"):
        apply("ONBUILD FROM busybox")


def test_arg_with_and_without_default():
    assert parse_arg(one("ARG A"), {}, "\\", "Dockerfile") == ("A", None)
    assert parse_arg(one("ARG A=${B:-x}"), {"B": "b"}, "\\", "Dockerfile") == ("A", "b")


def test_copy_spec():
    spec = copy_spec(one("COPY --chown=app:app --chmod=640 a b rel/"), {}, "/work")
    assert spec.sources == ("a", "b") and spec.dest == "/work/rel" and spec.dest_is_dir
    assert spec.chown == "app:app" and spec.chmod == 0o640
    spec = copy_spec(one("COPY --from=build /out/bin /usr/bin/tool"), {}, "/")
    assert spec.source_stage == "build" and spec.dest == "/usr/bin/tool" and not spec.dest_is_dir
    spec = copy_spec(one('COPY ["a b", "$D/"]'), {"D": "/d"}, "/")
    assert spec.sources == ("a b",) and spec.dest == "/$D"  # the JSON form substitutes nothing
    spec = copy_spec(one("COPY a $D/"), {"D": "/d"}, "/")
    assert spec.dest == "/d" and spec.dest_is_dir
    with pytest.raises(DockerfileError, match="Dockerfile:2: COPY: COPY requires at least two"):
        copy_spec(one("COPY onlyone"), {}, "/")
    with pytest.raises(DockerfileError, match="invalid --chmod"):
        copy_spec(one("COPY --chmod=abc a b"), {}, "/")


def test_workdir_is_relative_to_the_previous():
    config = ContainerConfig(working_dir="/app")
    assert workdir(one("WORKDIR sub/../src"), config, {}, "\\", "Dockerfile") == "/app/src"
    assert workdir(one("WORKDIR $D"), config, {"D": "/x"}, "\\", "Dockerfile") == "/x"


def test_errors_name_the_line():
    with pytest.raises(DockerfileError, match="Dockerfile:2: EXPOSE: invalid containerPort"):
        apply("EXPOSE abc")


def test_heredoc_script_with_an_interpreter():
    text = "FROM b\nRUN <<EOF\n#!/usr/bin/env python3\nprint('hi')\nEOF\n"
    instruction = parse_dockerfile(text).stages[0].commands[0]
    assert run_argv(instruction, BASE) == (
        "/bin/sh", "-c",
        "/usr/bin/env python3 <<'ESTIBA_HEREDOC'\n#!/usr/bin/env python3\nprint('hi')\nESTIBA_HEREDOC\n",
    )  # fmt: skip
