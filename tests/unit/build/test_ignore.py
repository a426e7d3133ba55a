"""`.dockerignore` matching: Docker's documented examples and moby's patternmatcher cases."""

from __future__ import annotations

import pytest

from estiba.build.context import walk_tree
from estiba.build.ignore import IgnoreMatcher, parse_dockerignore

# The example of Docker's documentation (builder "dockerignore file").
DOCS = """# comment
*/temp*
*/*/temp*
temp?
"""


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("somedir/temporary.txt", True),  # */temp*
        ("somedir/temp", True),
        ("somedir/subdir/temporary.txt", True),  # */*/temp*
        ("tempa", True),  # temp?
        ("tempb", True),
        ("temp", False),
        ("temporary.txt", False),
        ("a/b/c/temp.txt", False),
    ],
)
def test_documentation_example(path, excluded):
    assert IgnoreMatcher(parse_dockerignore(DOCS)).excluded(path) is excluded


def test_double_star_matches_any_number_of_directories():
    matcher = IgnoreMatcher(parse_dockerignore("**/*.go\n"))
    assert matcher.excluded("main.go")
    assert matcher.excluded("a/b/c/main.go")
    assert not matcher.excluded("a/main.goo")


def test_exceptions_and_order():
    # The documentation's README example: all markdown but README.md.
    matcher = IgnoreMatcher(parse_dockerignore("*.md\n!README.md\n"))
    assert matcher.excluded("CHANGES.md")
    assert not matcher.excluded("README.md")
    # "!README*.md" then "README-secret.md": the secret one is excluded.
    matcher = IgnoreMatcher(parse_dockerignore("*.md\n!README*.md\nREADME-secret.md\n"))
    assert matcher.excluded("README-secret.md")
    assert not matcher.excluded("README-public.md")
    # The reverse order: the exception wins.
    matcher = IgnoreMatcher(parse_dockerignore("*.md\nREADME-secret.md\n!README*.md\n"))
    assert not matcher.excluded("README-secret.md")


def test_a_directory_excludes_what_it_holds():
    matcher = IgnoreMatcher(parse_dockerignore("node_modules\n/build/\n"))
    assert matcher.excluded("node_modules")
    assert matcher.excluded("node_modules/x/y.js")
    assert matcher.excluded("build/out.o")
    assert not matcher.excluded("src/node_modules_list.txt")


def test_patterns_are_cleaned():
    assert parse_dockerignore("# c\n\n  ./a/../b/  \n/c\n!./d\n") == ["b", "c", "!d"]


def test_character_classes_and_escapes():
    matcher = IgnoreMatcher(parse_dockerignore("file[0-9].txt\nlit\\*\n"))
    assert matcher.excluded("file1.txt") and not matcher.excluded("filea.txt")
    assert matcher.excluded("lit*") and not matcher.excluded("litx")


def test_walk_goes_into_an_excluded_directory_only_for_an_exception(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_text("a")
    (tmp_path / "logs" / "keep.txt").write_text("k")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "x").write_text("x")
    (tmp_path / "main.c").write_text("m")
    matcher = IgnoreMatcher(parse_dockerignore("logs\ncache\n!logs/keep.txt\n"))
    found = [e.rel for e in walk_tree(tmp_path, "", matcher)]
    assert found == ["logs/keep.txt", "main.c"]
