"""Container names and ids: random names, validation with dockerd's message, id shapes."""

from __future__ import annotations

import random
import re

import pytest

from estiba.engine import names
from estiba.errors import InvalidArgument


def test_random_names_are_adjective_underscore_surname() -> None:
    rng = random.Random(7)
    for _ in range(200):
        adjective, surname = names.random_name(rng=rng).split("_")
        assert adjective in names.ADJECTIVES
        assert surname in names.SURNAMES


def test_a_retry_appends_a_digit() -> None:
    name = names.random_name(retry=1, rng=random.Random(1))
    assert re.fullmatch(r"[a-z]+_[a-z]+\d", name)


def test_word_lists_are_large_unique_and_valid_names() -> None:
    assert len(names.ADJECTIVES) >= 100 and len(names.SURNAMES) >= 100
    assert len(set(names.ADJECTIVES)) == len(names.ADJECTIVES)
    assert len(set(names.SURNAMES)) == len(names.SURNAMES)
    for word in names.ADJECTIVES + names.SURNAMES:
        assert re.fullmatch(r"[a-z]+", word), word


def test_random_names_pass_validation() -> None:
    rng = random.Random(3)
    for retry in range(3):
        name = names.random_name(retry, rng)
        assert names.validate_name(name) == name


@pytest.mark.parametrize(
    ("given", "stored"),
    [("web", "web"), ("/web", "web"), ("a1", "a1"), ("Db_1.prod-2", "Db_1.prod-2"), ("9x", "9x")],
)
def test_valid_names(given: str, stored: str) -> None:
    assert names.validate_name(given) == stored


@pytest.mark.parametrize(
    "name", ["a", "/a", "_web", ".web", "-web", "we b", "web/x", "wéb", "web\n", "//web", ""]
)
def test_invalid_names_get_dockerds_message(name: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        names.validate_name(name)
    assert caught.value.message == (
        f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    )


def test_ids_are_64_hex_and_unique() -> None:
    ids = {names.new_id() for _ in range(500)}
    assert len(ids) == 500
    for container_id in ids:
        assert re.fullmatch(r"[0-9a-f]{64}", container_id)
        assert not container_id[:12].isdigit()


def test_short_id() -> None:
    container_id = "0123456789ab" + "c" * 52
    assert names.short_id(container_id) == "0123456789ab"
    assert names.short_id("sha256:" + container_id) == "0123456789ab"


def test_an_id_whose_short_form_is_all_digits_is_drawn_again() -> None:
    draws = iter([bytes.fromhex("12" * 32), bytes.fromhex("1234567890ab" + "00" * 26)])
    assert names.new_id(lambda n: next(draws)) == "1234567890ab" + "00" * 26
