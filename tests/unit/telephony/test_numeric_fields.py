"""Whole numbers from outside: ASCII digits only, bounded, None for anything else."""

from __future__ import annotations

import pytest

from telephony.fields import MAX_UNIX_SECONDS, MAX_WHOLE_NUMBER, whole_number

NOT_NUMBERS = {
    "superscript two": "²",
    "circled one": "①",
    "Arabic-Indic digits": "١٢٣",
    "full-width digits": "１２",
    "5,000 digits": "9" * 5000,
    "past 32 bits": "99999999999999999999",
    "empty": "",
    "sign": "+7",
    "negative": "-1",
    "spaces": " 7 ",
    "newline after": "7\n",
    "underscores": "7_000",
    "fraction": "7.5",
    "exponent": "1e3",
    "hex": "0x10",
    "letters": "seven",
}


@pytest.mark.parametrize("raw", NOT_NUMBERS.values(), ids=NOT_NUMBERS.keys())
def test_anything_but_ascii_digits_in_bounds_is_no_number(raw: str) -> None:
    assert whole_number(raw) is None


@pytest.mark.parametrize(
    ("raw", "number"), [("0", 0), ("7", 7), ("007", 7), (str(MAX_WHOLE_NUMBER), 2**31 - 1)]
)
def test_ascii_digits_are_the_number(raw: str, number: int) -> None:
    assert whole_number(raw) == number


def test_the_bound_is_a_postgresql_integer_unless_the_field_says_otherwise() -> None:
    assert whole_number(str(MAX_WHOLE_NUMBER + 1)) is None
    assert whole_number("600", maximum=600) == 600
    assert whole_number("601", maximum=600) is None
    assert whole_number("4102444800", MAX_UNIX_SECONDS) == 4_102_444_800  # 2100-01-01


@pytest.mark.parametrize(("raw", "number"), [(0, 0), (12, 12), (True, None), (-1, None)])
def test_json_integers_count_but_booleans_and_negatives_do_not(raw: object, number: int) -> None:
    assert whole_number(raw) == number


@pytest.mark.parametrize("raw", [None, 7.0, float("inf"), [7], {"7": 7}, b"7", 2**63])
def test_other_types_are_no_number(raw: object) -> None:
    assert whole_number(raw) is None
