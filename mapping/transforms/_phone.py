"""The ``phone`` transform: US numbers normalised to E.164, garbage refused.

Canonical form is E.164 (``+14155550100``); an extension is kept RFC 3966 style
(``+14155550100;ext=12``). A number written with a leading ``+`` and another country code is
kept as E.164 if it has 8 to 15 digits; without ``+`` only NANP numbers are understood.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from mapping.transforms._core import (
    ArgsError,
    Invalid,
    Transform,
    TransformContext,
    as_mapping,
    is_blank,
)

__all__ = ["PHONE_TRANSFORMS"]

_FORMATS = ("e164", "national")
_EXTENSION = re.compile(r"\s*(?:;\s*ext=|ext\.?|extension|x|#)\s*(\d{1,6})\s*$", re.IGNORECASE)
_ALLOWED = re.compile(r"\+?[\d\s().\-/]+")
_EXPECTED = "expected a US phone number such as (415) 555-0100 or +1 415 555 0100"


def _compile_phone(raw: Any) -> str:
    data = as_mapping(raw)
    fmt = data.get("format") if data is not None else raw
    if data is not None and set(data) - {"format"}:
        raise ArgsError("the only option is format: e164 | national")
    fmt = "e164" if fmt is None else fmt
    if fmt not in _FORMATS:
        raise ArgsError("format must be e164 (+14155550100) or national ((415) 555-0100)")
    return str(fmt)


def _nanp(national: str) -> str:
    # NANP: area code and exchange both start with 2-9.
    if len(national) != 10 or national[0] in "01" or national[3] in "01":
        raise Invalid(_EXPECTED)
    return "+1" + national


def parse_phone(value: Any) -> tuple[str, str | None]:
    """``(E.164 number, extension or None)`` for a phone number, else :class:`Invalid`."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a spreadsheet turned the number into an integer
    if not isinstance(value, str):
        raise Invalid(_EXPECTED)
    return _parse_text(value)


@functools.lru_cache(maxsize=16_384)
def _parse_text(value: str) -> tuple[str, str | None]:
    # Cached: a partner's or practice's number recurs on many records (a refusal is not
    # cached, so it is raised afresh each time).
    text = value.strip()
    ext_match = _EXTENSION.search(text)
    extension = ext_match.group(1) if ext_match else None
    if ext_match:
        text = text[: ext_match.start()].strip()
    if not _ALLOWED.fullmatch(text):
        raise Invalid(_EXPECTED)
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") and not digits.startswith("1"):
        if not 8 <= len(digits) <= 15:
            raise Invalid("expected an international number of 8 to 15 digits after the +")
        return "+" + digits, extension
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return _nanp(digits), extension


def _render(number: str, extension: str | None, fmt: str) -> str:
    if fmt == "national" and number.startswith("+1"):
        n = number[2:]
        text = f"({n[:3]}) {n[3:6]}-{n[6:]}"
        return f"{text} ext. {extension}" if extension else text
    return f"{number};ext={extension}" if extension else number


def _phone_out(value: Any, fmt: str, ctx: TransformContext) -> Any:
    return _render(*parse_phone(value), fmt)


def _phone_in(value: Any, fmt: str, ctx: TransformContext) -> Any:
    if is_blank(value):
        return None
    return _render(*parse_phone(value), "e164")


PHONE_TRANSFORMS: tuple[Transform, ...] = (
    Transform(
        "phone",
        "normalise a US phone number to E.164 (+14155550100); {phone: national} sends "
        "(415) 555-0100; garbage is an error",
        _phone_out,
        _phone_in,
        _compile_phone,
    ),
)
