"""NPI: 10 digits, first digit 1 or 2, Luhn check digit over the 80840 prefix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapping.npi import is_valid_npi, npi_check_digit, validate_npi


def test_the_issue_examples():
    assert is_valid_npi("1234567893")
    assert not is_valid_npi("1234567898")


@pytest.mark.parametrize(
    "value",
    [
        "123456789",  # 9 digits
        "12345678930",  # 11 digits
        "3234567893",  # must start with 1 or 2
        "0234567893",
        "12345 6789",
        "123456789X",
        "١٢٣٤٥٦٧٨٩٣",  # Arabic-Indic digits are digits, but not ASCII
        "",
    ],
)
def test_malformed_npis_are_invalid(value):
    assert not is_valid_npi(value)


def test_validate_npi_strips_whitespace_and_explains_the_rule_without_the_value():
    assert validate_npi(" 1234567893\n") == "1234567893"
    with pytest.raises(ValueError, match="Luhn check digit over the 80840 prefix") as info:
        validate_npi("1234567898")
    assert "1234567898" not in str(info.value)


def test_check_digit_completes_the_issue_example():
    assert npi_check_digit("123456789") == "3"
    with pytest.raises(ValueError):
        npi_check_digit("12345678")


_STEMS = st.integers(min_value=100_000_000, max_value=299_999_999).map(str)


@given(_STEMS)
def test_exactly_one_check_digit_makes_a_stem_valid(stem):
    valid = [d for d in "0123456789" if is_valid_npi(stem + d)]
    assert valid == [npi_check_digit(stem)]


@given(_STEMS, st.integers(min_value=1, max_value=9), st.integers(min_value=1, max_value=9))
def test_any_single_digit_error_is_detected(stem, position, delta):
    npi = stem + npi_check_digit(stem)
    wrong = npi[:position] + str((int(npi[position]) + delta) % 10) + npi[position + 1 :]
    assert not is_valid_npi(wrong)
