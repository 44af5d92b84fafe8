"""Salesforce ids and field values: generation, checks, coercion and wire formats.

Values are stored typed (``datetime`` in UTC to the second, ``date``, ``float``, ``int``,
``bool``, ``str``) and rendered on the way out the way Salesforce renders them: datetimes as
``2024-01-02T03:04:05.000+0000``, dates as ``2024-01-02``.
"""

from __future__ import annotations

import itertools
import re
import threading
from datetime import UTC, date, datetime
from typing import Any

from connectors.sandbox.salesforce.errors import ApiError
from connectors.sandbox.salesforce.schema import FieldDef

__all__ = [
    "IdFactory",
    "coerce_csv",
    "coerce_json",
    "format_datetime",
    "is_id",
    "parse_datetime",
    "to_csv",
    "to_id18",
    "to_json",
]

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")
_TEXT_TYPES = frozenset(
    {"string", "textarea", "picklist", "multipicklist", "combobox", "phone", "email", "url"}
)


def _suffix(id15: str) -> str:
    out = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out += _SUFFIX[bits]
    return out


def to_id18(value: str) -> str:
    """The 18-character form of a 15- or 18-character id."""
    return value if len(value) == 18 else value + _suffix(value)


def is_id(value: Any) -> bool:
    """True if ``value`` is a well-formed 15/18-character Salesforce id."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return False
    return len(value) == 15 or _suffix(value[:15]) == value[15:]


class IdFactory:
    """Makes 18-character ids with the object's key prefix, unique per sandbox."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def new(self, key_prefix: str) -> str:
        with self._lock:
            n = next(self._counter)
        body = ""
        for _ in range(9):
            n, rem = divmod(n, 62)
            body = _B62[rem] + body
        return to_id18(f"{key_prefix}Dn0{body}")

    def skip_to(self, start: int) -> None:
        """Continue numbering at ``start`` (after loading persisted data)."""
        with self._lock:
            self._counter = itertools.count(start)


def format_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def parse_datetime(text: str) -> datetime:
    """Parse the ISO 8601 forms Salesforce accepts; naive means UTC; truncated to seconds."""
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    s = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", s)
    parsed = datetime.fromisoformat(s)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)


def _parser_error(f: FieldDef, value: Any, kind: str) -> ApiError:
    return ApiError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from VALUE_STRING value {value} or request "
        f"may be missing a required field",
    )


def coerce_json(f: FieldDef, value: Any) -> Any:
    """A JSON body value to the stored type (type mismatches fail the whole request)."""
    if value is None:
        return None
    try:
        return _coerce(f, value)
    except (TypeError, ValueError) as exc:
        raise _parser_error(f, value, f.type) from exc


def _coerce(f: FieldDef, value: Any) -> Any:
    kind = f.type
    if kind == "datetime":
        return parse_datetime(str(value))
    if kind == "date":
        return date.fromisoformat(str(value)[:10])
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(value)
    if kind == "int":
        if isinstance(value, bool):
            raise TypeError(value)
        return int(value)
    if f.is_numeric:
        if isinstance(value, bool):
            raise TypeError(value)
        return float(value)
    if isinstance(value, dict | list):
        raise TypeError(value)
    return value if isinstance(value, str) else str(value)


def coerce_csv(f: FieldDef, text: str) -> Any:
    """A Bulk CSV cell to the stored type; raises ValueError on a value of the wrong type."""
    if text == "#N/A":
        return None
    try:
        return _coerce(f, text)
    except TypeError as exc:
        raise ValueError(text) from exc


def to_json(f: FieldDef, value: Any) -> Any:
    """The stored value as the REST API renders it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if f.is_numeric and f.type != "int":
        return float(value)
    return value


def to_csv(f: FieldDef, value: Any) -> str:
    """The stored value as Bulk API 2.0 CSV renders it (empty for null)."""
    rendered = to_json(f, value)
    if rendered is None:
        return ""
    if isinstance(rendered, bool):
        return "true" if rendered else "false"
    if isinstance(rendered, float) and f.scale == 0 and rendered.is_integer():
        return str(int(rendered))
    return str(rendered)


def is_text(f: FieldDef) -> bool:
    return f.type in _TEXT_TYPES
