"""Text transforms: strip, upper, lower, default, truncate, prefix, suffix, join, split, json."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from pydantic_core import to_jsonable_python

from mapping.transforms._core import (
    ArgsError,
    Invalid,
    StrictArgs,
    Transform,
    TransformContext,
    as_mapping,
    is_blank,
    no_args,
    plain,
    validate_args,
)

__all__ = ["INBOUND_ON_TEXT", "TEXT_TRANSFORMS"]


def _text(value: Any) -> str:
    if type(value) is str:  # the common case, before plain()'s enum check
        return value
    value = plain(value)
    if not isinstance(value, str):
        raise Invalid("expected text")
    return value


def _normaliser(op: Callable[[str], str]) -> Callable[[Any, Any, TransformContext], Any]:
    # strip/upper/lower normalise in both directions: they are idempotent, so applying them
    # inbound too keeps canonical values normalised and the round trip stable.
    def run(value: Any, args: Any, ctx: TransformContext) -> Any:
        return op(_text(value))

    return run


def _identity(value: Any, args: Any, ctx: TransformContext) -> Any:
    return value


# -- default ------------------------------------------------------------------------------


def _compile_default(raw: Any) -> Any:
    if raw is None:
        raise ArgsError("needs the value to use, e.g. {default: routine}")
    return raw


def _default(value: Any, args: Any, ctx: TransformContext) -> Any:
    return args if is_blank(value) else value


# -- truncate -----------------------------------------------------------------------------


class _TruncateArgs(StrictArgs):
    length: int


def _compile_truncate(raw: Any) -> int:
    data = raw if as_mapping(raw) is not None else {"length": raw}
    if isinstance(data.get("length"), bool):
        raise ArgsError("length: expected a whole number of characters, e.g. {truncate: 255}")
    length = validate_args(_TruncateArgs, data).length
    if length < 1:
        raise ArgsError("length must be at least 1")
    return length


def _truncate(value: Any, args: int, ctx: TransformContext) -> Any:
    return _text(value)[:args]


# -- prefix / suffix ----------------------------------------------------------------------


def _compile_affix(raw: Any) -> str:
    if not isinstance(raw, str) or not raw:
        raise ArgsError("needs non-empty text, e.g. {prefix: 'RS-'}")
    return raw


def _add_prefix(value: Any, args: str, ctx: TransformContext) -> Any:
    return args + _text(value)


def _drop_prefix(value: Any, args: str, ctx: TransformContext) -> Any:
    # A native value typed by hand may lack the prefix; it is then taken as it is.
    text = _text(value)
    return text.removeprefix(args)


def _add_suffix(value: Any, args: str, ctx: TransformContext) -> Any:
    return _text(value) + args


def _drop_suffix(value: Any, args: str, ctx: TransformContext) -> Any:
    return _text(value).removesuffix(args)


# -- join / split -------------------------------------------------------------------------


class _SeparatorArgs(StrictArgs):
    separator: str = ";"


def _compile_separator(raw: Any) -> str:
    data = raw if as_mapping(raw) is not None else ({} if raw is None else {"separator": raw})
    separator = validate_args(_SeparatorArgs, data).separator
    if not separator:
        raise ArgsError("separator must not be empty")
    return separator


def _join(value: Any, sep: str, ctx: TransformContext) -> Any:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise Invalid("expected a list of values")
    items = sorted(value) if isinstance(value, set | frozenset) else list(value)
    texts = [_text(item) for item in items]
    if any(sep in item for item in texts):
        raise Invalid(f"an item contains the separator {sep!r}, so it could not be split back")
    return sep.join(texts)


def _split(value: Any, sep: str, ctx: TransformContext) -> Any:
    if isinstance(value, list | tuple):
        return [_text(item).strip() for item in value]
    return [part.strip() for part in _text(value).split(sep) if part.strip()]


# -- json ---------------------------------------------------------------------------------


def _dump_json(value: Any, args: Any, ctx: TransformContext) -> Any:
    # Sorted keys and compact separators: the same value always gives the same text, so the
    # write ledger's content hash does not change between runs.
    try:
        data = to_jsonable_python(value)
    except Exception:
        raise Invalid("the value cannot be written as JSON") from None
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _load_json(value: Any, args: Any, ctx: TransformContext) -> Any:
    if not isinstance(value, str):
        return value  # already structured (a system that returns JSON natively)
    if not value.strip():
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise Invalid("expected JSON text (a list or object written by refsync)") from None


INBOUND_ON_TEXT: dict[str, str] = {
    "strip": "v.strip()",
    "upper": "v.upper()",
    "lower": "v.lower()",
    "truncate": "v",
}
"""What the inbound step of these transforms returns for a value ``v`` of type ``str``, as a
Python expression: compiled readers (:mod:`mapping._inbound`) inline it."""

TEXT_TRANSFORMS: tuple[Transform, ...] = (
    Transform(
        "strip",
        "trim surrounding whitespace (both directions)",
        _normaliser(str.strip),
        _normaliser(str.strip),
        no_args,
    ),
    Transform(
        "upper",
        "upper-case text (both directions)",
        _normaliser(str.upper),
        _normaliser(str.upper),
        no_args,
    ),
    Transform(
        "lower",
        "lower-case text (both directions)",
        _normaliser(str.lower),
        _normaliser(str.lower),
        no_args,
    ),
    Transform(
        "default",
        "replace a missing or blank value with the given one (both directions)",
        _default,
        _default,
        _compile_default,
        handles_none=True,
    ),
    Transform(
        "truncate",
        "cut text to at most N characters on the way out: {truncate: 255}",
        _truncate,
        _identity,
        _compile_truncate,
    ),
    Transform(
        "prefix",
        "add text in front on the way out, remove it on the way in: {prefix: 'RS-'}",
        _add_prefix,
        _drop_prefix,
        _compile_affix,
    ),
    Transform(
        "suffix",
        "add text at the end on the way out, remove it on the way in: {suffix: '-x'}",
        _add_suffix,
        _drop_suffix,
        _compile_affix,
    ),
    Transform(
        "join",
        "list -> text joined by a separator (default ';', as multi-picklists want): {join: ';'}",
        _join,
        _split,
        _compile_separator,
    ),
    Transform(
        "split",
        "text -> list split on a separator (default ';'); the inverse of join: {split: ','}",
        _split,
        _join,
        _compile_separator,
    ),
    Transform(
        "json",
        "structured value <-> compact JSON text, for long-text fields holding lists or rules",
        _dump_json,
        _load_json,
        no_args,
    ),
)
