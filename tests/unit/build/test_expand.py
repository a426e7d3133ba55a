"""Variable substitution and quote removal, as moby's shell lexer does them."""

from __future__ import annotations

import pytest

from estiba.build.expand import process_word, process_words, split_raw_words
from estiba.errors import InvalidArgument

ENV = {"A": "a", "EMPTY": "", "SPACE": "x y"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$A", "a"),
        ("${A}", "a"),
        ("pre${A}post", "preapost"),
        ("$UNSET", ""),
        ("${UNSET:-dflt}", "dflt"),
        ("${EMPTY:-dflt}", "dflt"),
        ("${EMPTY-dflt}", ""),
        ("${UNSET-dflt}", "dflt"),
        ("${A:-dflt}", "a"),
        ("${A:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET:+alt}", ""),
        ("${UNSET:-${A}}", "a"),
        ("'$A'", "$A"),
        ('"$A b"', "a b"),
        ("\\$A", "$A"),
        ('"\\$A"', "$A"),
        ("a\\ b", "a b"),
        ("$", "$"),
        ("$1x", "x"),
    ],
)
def test_process_word(text, expected):
    assert process_word(text, ENV) == expected


def test_process_words_splits_on_unquoted_whitespace():
    assert process_words('a "b c" $A \'d e\'', ENV) == ["a", "b c", "a", "d e"]


def test_backtick_escape():
    assert process_word("`$A", ENV, "`") == "$A"


def test_unterminated_quote():
    with pytest.raises(InvalidArgument, match="double-quote"):
        process_word('"abc', ENV)


def test_required_variable():
    with pytest.raises(InvalidArgument, match="UNSET: needed"):
        process_word("${UNSET:?needed}", ENV)


def test_split_raw_words_keeps_quotes():
    assert split_raw_words('a=1 b="x y" c=\'z\'') == ["a=1", 'b="x y"', "c='z'"]
