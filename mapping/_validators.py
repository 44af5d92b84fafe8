"""Per-field validators for inbound translation: pydantic's, behind a type-exact shortcut.

Translation validates every inbound field of every record against its canonical type. For
the common shapes (plain or length-bounded text, an NPI, an aware datetime, an enum value, a
list of text) a value that already has the exact type and passes the field's constraints is
what pydantic would return; the shortcut returns it without entering pydantic. Any other
value goes to pydantic's own validator, so coercions, defaults and error messages are
pydantic's, unchanged.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import types
import typing
from collections.abc import Callable
from typing import Any

from annotated_types import MaxLen, MinLen
from pydantic import AwareDatetime, TypeAdapter
from pydantic.fields import FieldInfo

from mapping.model import Npi
from mapping.npi import is_valid_npi
from mapping.spec import resolve_path

__all__ = ["field_validator", "text_bounds"]

Validate = Callable[[Any], Any]

_NPI_OPTIONAL: Any = Npi | None


@functools.lru_cache(maxsize=512)
def field_validator(entity: str, path: str) -> Validate:
    """The validator of canonical ``entity.path``: returns the value or raises pydantic's
    ``ValidationError``, exactly as ``TypeAdapter(<field type>).validate_python`` does."""
    info = resolve_path(entity, path)
    slow = _pydantic_validator(info)
    return _shortcut(info, slow) or slow


@functools.lru_cache(maxsize=512)
def text_bounds(entity: str, path: str) -> tuple[int, int] | None:
    """``(min, max)`` length when ``entity.path`` is text whose validator returns any ``str``
    of that length as it is (so a compiled reader may skip the call); else None."""
    info = resolve_path(entity, path)
    return _text_bounds(info)


def _text_bounds(info: FieldInfo) -> tuple[int, int] | None:
    if info.annotation == _NPI_OPTIONAL and not info.metadata:
        return None
    inner, optional = _optional(info.annotation)
    bounds = _bounds(list(info.metadata))
    if bounds is None or (optional and info.metadata) or inner is not str:
        return None
    return bounds


def _pydantic_validator(info: FieldInfo) -> Validate:
    # Constraints (min_length, NPI check, ...) live in the field's metadata, not its type.
    annotation: Any = (
        typing.Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    )
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    # The core validator's own method: TypeAdapter's wrapper adds per-call cost.
    validator = getattr(adapter, "validator", None)
    fn: Validate = getattr(validator, "validate_python", adapter.validate_python)
    return fn


def _optional(annotation: Any) -> tuple[Any, bool]:
    """``(inner type, True)`` for ``X | None``; ``(annotation, False)`` otherwise."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(annotation)
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return rest[0], True
    return annotation, False


def _bounds(metadata: list[Any]) -> tuple[int, int] | None:
    """The length bounds of ``metadata`` when it holds nothing else, else None."""
    low, high = 0, 1 << 62
    for item in metadata:
        if isinstance(item, MinLen):
            low = item.min_length
        elif isinstance(item, MaxLen):
            high = item.max_length
        else:
            return None
    return low, high


def _shortcut(info: FieldInfo, slow: Validate) -> Validate | None:
    """A validator that answers type-exact, valid values itself and hands the rest to
    ``slow``; None when the field's type has no shortcut."""
    if info.annotation == _NPI_OPTIONAL and not info.metadata:
        return _npi(slow)
    inner, optional = _optional(info.annotation)
    text = _text_bounds(info)
    if text is not None:
        return _text(slow, optional, *text)
    if info.metadata:  # constraints other than text bounds: pydantic checks them
        return None
    if inner is dt.datetime or inner is AwareDatetime:
        return _datetime(slow, optional, aware=inner is AwareDatetime)
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return _enum(slow, optional, inner)
    if inner == list[str]:
        return _text_list(slow, optional)
    return None


def _text(slow: Validate, optional: bool, low: int, high: int) -> Validate:
    def validate(value: Any) -> Any:
        if type(value) is str and low <= len(value) <= high:
            return value
        if value is None and optional:
            return None
        return slow(value)

    return validate


def _npi(slow: Validate) -> Validate:
    def validate(value: Any) -> Any:
        # A valid NPI is ten digits, so it is already stripped: the validator returns it as is.
        if value is None or (type(value) is str and is_valid_npi(value)):
            return value
        return slow(value)

    return validate


def _datetime(slow: Validate, optional: bool, *, aware: bool) -> Validate:
    def validate(value: Any) -> Any:
        if type(value) is dt.datetime and (not aware or value.utcoffset() is not None):
            return value
        if value is None and optional:
            return None
        return slow(value)

    return validate


def _enum(slow: Validate, optional: bool, kind: type[enum.Enum]) -> Validate:
    members: dict[Any, enum.Enum] = {m.value: m for m in kind if type(m.value) is str}

    def validate(value: Any) -> Any:
        if type(value) is kind:
            return value
        if type(value) is str:
            member = members.get(value)
            if member is not None:
                return member
        if value is None and optional:
            return None
        return slow(value)

    return validate


def _text_list(slow: Validate, optional: bool) -> Validate:
    def validate(value: Any) -> Any:
        if type(value) is list and all(type(item) is str for item in value):
            return list(value)  # pydantic returns a new list, never the caller's
        if value is None and optional:
            return None
        return slow(value)

    return validate
