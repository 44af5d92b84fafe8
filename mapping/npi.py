"""NPI check: 10 digits, first digit 1 or 2, Luhn check digit over the ``80840`` prefix."""

from __future__ import annotations

import functools

__all__ = ["is_valid_npi", "npi_check_digit", "validate_npi"]


_DOUBLED = tuple((2 * d - 9 if 2 * d > 9 else 2 * d) for d in range(10))
"""Luhn's doubled digit, by digit."""


def _luhn_ok(digits: str) -> bool:
    # Every second digit from the right is doubled: walk both halves with slices, no branches.
    rev = digits[::-1]
    total = sum(map(int, rev[0::2])) + sum(_DOUBLED[int(ch)] for ch in rev[1::2])
    return total % 10 == 0


@functools.lru_cache(maxsize=65_536)
def is_valid_npi(value: str) -> bool:
    """True for a well-formed NPI (``1234567893`` is valid, ``1234567898`` is not).

    Cached: a program has a few thousand referring NPIs, read again on every record.
    """
    return (
        len(value) == 10
        and value.isascii()
        and value.isdigit()
        and value[0] in "12"
        and _luhn_ok("80840" + value)
    )


def validate_npi(value: str) -> str:
    """Return ``value`` stripped if it is a valid NPI, else raise ``ValueError``."""
    v = value.strip()
    if not is_valid_npi(v):
        raise ValueError(
            "not a valid NPI: expected 10 digits starting with 1 or 2 whose last digit is the "
            "Luhn check digit over the 80840 prefix"
        )
    return v


def npi_check_digit(stem: str) -> str:
    """The check digit that completes a 9-digit NPI stem (``123456789`` -> ``3``)."""
    if len(stem) != 9 or not (stem.isascii() and stem.isdigit()):
        raise ValueError("an NPI stem is 9 ASCII digits")
    total = 0
    for i, ch in enumerate(reversed("80840" + stem)):
        d = int(ch)
        if i % 2 == 0:  # the check digit will sit to the right, so these positions double
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)
