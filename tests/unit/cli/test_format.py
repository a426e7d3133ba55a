"""The Go-template subset and docker's table alignment."""

from __future__ import annotations

import pytest

from estiba.cli.format import Template, go_value, render_table, tabulate
from estiba.errors import InvalidArgument

DOC = {
    "Id": "abc",
    "Config": {"Tty": False, "Labels": {"b": "2", "a": "1"}, "Cmd": ["sh", "-c"]},
    "State": {"Running": True, "ExitCode": 0},
    "Name": "/web",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{.Id}}", "abc"),
        ("{{.Config.Tty}}", "false"),
        ("{{.State.Running}} {{.State.ExitCode}}", "true 0"),
        ("{{.Config.Labels}}", "map[a:1 b:2]"),
        ("{{.Config.Cmd}}", "[sh -c]"),
        ("{{json .Config.Labels}}", '{"a":"1","b":"2"}'),
        ("{{json .State}}", '{"ExitCode":0,"Running":true}'),
        ('{{json "a<b&c>"}}', '"a\\u003cb\\u0026c\\u003e"'),
        ('{{index .Config.Labels "a"}}', "1"),
        ("{{.Missing}}", "<no value>"),
        ("{{ .Name }}", "/web"),
        ("{{upper .Name}}", "/WEB"),
        ('{{join .Config.Cmd ","}}', "sh,-c"),
        ("id={{.Id}}\\tname={{.Name}}", "id=abc\tname=/web"),
    ],
)
def test_template_renders_like_go(text, expected):
    assert Template(text).render(DOC) == expected


def test_json_of_dot_is_the_whole_value():
    assert Template("{{json .}}").render({"A": "1"}) == '{"A":"1"}'


@pytest.mark.parametrize("text", ["{{.Id", "{{nosuch .Id}}", "{{}}"])
def test_bad_templates_are_invalid_arguments(text):
    with pytest.raises(InvalidArgument):
        Template(text).render(DOC)


def test_go_values():
    assert [go_value(v) for v in (None, True, 1.0, 2.5, [], {})] == [
        "<nil>",
        "true",
        "1",
        "2.5",
        "[]",
        "map[]",
    ]


def test_tabulate_pads_like_dockers_tabwriter():
    out = tabulate([["CONTAINER ID", "IMAGE", "NAMES"], ["0001cccccccc", "busybox", "web"]])
    assert out == "CONTAINER ID   IMAGE     NAMES\n0001cccccccc   busybox   web\n"


def test_table_template_makes_a_header_from_fields():
    template = Template("table {{.ID}}\\t{{.Names}}", {"ID": "CONTAINER ID", "Names": "NAMES"})
    assert template.table
    rows = [{"ID": "0001cccccccc", "Names": "web"}]
    assert render_table(template, rows) == "CONTAINER ID   NAMES\n0001cccccccc   web\n"
