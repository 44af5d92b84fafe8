"""NPI check: 10 digits, first digit 1 or 2, Luhn check digit over the ``80840`` prefix."""

from __future__ import annotations

__all__ = ["is_valid_npi", "npi_check_digit", "validate_npi"]


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_valid_npi(value: str) -> bool:
    """True for a well-formed NPI (``1234567893`` is valid, ``1234567898`` is not)."""
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
