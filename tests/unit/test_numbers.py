"""Whole numbers from outside stay within the integer columns (ASVS 4.0.3 V5.1.3)."""

from __future__ import annotations

import pytest

from workflows.numbers import MAX_INT, to_int


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7), (" 12 ", 12), (3, 3), (str(MAX_INT), MAX_INT), (-MAX_INT, -MAX_INT), (2.0, 2)],
)
def test_v5_1_3_numbers_in_range_convert_like_int(value: object, expected: int) -> None:
    assert to_int(value) == expected


@pytest.mark.parametrize(
    "value",
    [str(MAX_INT + 1), 2**63, -(2**63), "1" * 40, float("inf"), float("-inf"), "zwei", "1e3"],
)
def test_v5_1_3_numbers_out_of_range_or_no_numbers_raise_value_error(value: object) -> None:
    with pytest.raises(ValueError):
        to_int(value)


def test_v5_1_3_nan_and_none_raise_what_callers_catch() -> None:
    with pytest.raises(ValueError):
        to_int(float("nan"))
    with pytest.raises(TypeError):
        to_int(None)
