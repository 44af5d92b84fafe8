"""What a mapped field sends, in coarse terms: its kind, its finite values, its length.

Private helper of :mod:`mapping.schema_check`: reads a field mapping's canonical type and
transform chain, never a live system.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import typing
from collections.abc import Mapping
from typing import Any

from annotated_types import MaxLen

from mapping.schema import GENERIC, Dialect
from mapping.spec import EntityMapping, FieldMapping, resolve_path
from mapping.transforms import TransformStep

__all__ = [
    "ACCEPTS",
    "longest",
    "native_kind",
    "sent_kind",
    "sent_values",
    "truncate_lengths",
]

# What a native kind accepts from the value refsync sends (after transforms).
ACCEPTS: dict[str, frozenset[str]] = {
    "string": frozenset({"string", "enum", "number", "boolean", "datetime", "date"}),
    "number": frozenset({"number", "epoch"}),
    "boolean": frozenset({"boolean"}),
    "datetime": frozenset({"datetime", "epoch"}),
    "date": frozenset({"date", "datetime", "epoch"}),
    "list": frozenset({"list", "string", "enum"}),
}

# Output kind of a transform step outbound; steps not listed keep the kind they got.
_STEP_KINDS: dict[str, str] = {
    **dict.fromkeys(["join", "strip", "upper", "lower", "truncate", "json"], "string"),
    **dict.fromkeys(["phone", "npi", "ref", "prefix", "suffix"], "string"),
    # date/datetime send text, but text that the native date fields accept
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
    "int": "number",
    "number": "number",
    "split": "list",
}
_VALUE_MAP_KEYS = frozenset({"map", "inbound", "default", "inbound_default", "strict"})


def native_kind(schema_type: str, dialect: Dialect = GENERIC) -> str | None:
    """The coarse kind of a native type name in ``dialect`` (string, number, ...), None if
    unknown."""
    return dialect.kind(schema_type)


def truncate_lengths(fm: FieldMapping) -> list[int]:
    lengths = []
    for step in fm.transforms:
        if step.name != "truncate":
            continue
        raw = step.args.get("length") if isinstance(step.args, Mapping) else step.args
        if isinstance(raw, int):
            lengths.append(raw)
    return lengths


def _value_map_targets(step: TransformStep) -> list[Any] | None:
    """The native values a value_map step can send (short or full form)."""
    if step.name != "value_map" or not isinstance(step.args, Mapping):
        return None
    args = step.args
    if "map" in args and set(args) <= _VALUE_MAP_KEYS and isinstance(args["map"], Mapping):
        targets = list(args["map"].values())
        return targets + ([args["default"]] if args.get("default") is not None else [])
    return list(args.values())


def _step_kind(step: TransformStep, kind: str | None) -> str | None:
    targets = _value_map_targets(step)
    if targets is not None:
        kinds = {_value_kind(v) for v in targets if v is not None}
        return kinds.pop() if len(kinds) == 1 else None
    if step.name == "default":
        return kind
    if step.name in ("date", "datetime") and "epoch_ms" in str(step.args):
        return "epoch"  # milliseconds: systems whose date/datetime fields take them
    if step.name in ("boolean", "int", "number") and step.args is not None:
        return "string"  # {boolean: string}, {boolean: {true: Yes}}, {int: string}
    return _STEP_KINDS.get(step.name)


def sent_kind(em: EntityMapping, fm: FieldMapping) -> str | None:
    kind = _canonical_kind(em, fm.canonical)
    for step in fm.transforms:
        kind = _step_kind(step, kind)
    return kind


def _value_kind(value: Any) -> str | None:
    for typ, kind in ((bool, "boolean"), (int, "number"), (float, "number"), (str, "string")):
        if isinstance(value, typ):
            return kind
    return None


def _canonical_kind(em: EntityMapping, path: str) -> str | None:
    try:
        annotation = resolve_path(em.entity, path).annotation
    except KeyError:
        return None
    args = [a for a in (annotation, *typing.get_args(annotation)) if a is not type(None)]
    if typing.get_origin(annotation) in (list, set, tuple):
        return "list"
    for arg in args:
        if not isinstance(arg, type):
            continue
        for typ, kind in (
            (bool, "boolean"),
            (enum.Enum, "enum"),
            (str, "string"),
            (int, "number"),
            (float, "number"),
            (decimal.Decimal, "number"),
            (dt.datetime, "datetime"),
            (dt.date, "date"),
        ):
            if issubclass(arg, typ):
                return kind
    return None


def _enum_values(em: EntityMapping, path: str) -> list[str]:
    try:
        annotation = resolve_path(em.entity, path).annotation
    except KeyError:
        return []
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, enum.Enum):
            return [str(m.value) for m in arg]
    return []


def sent_values(em: EntityMapping, fm: FieldMapping) -> list[str] | None:
    """The finite set of values this field can send, when it is finite (enum/value_map)."""
    maps = [t for t in map(_value_map_targets, fm.transforms) if t is not None]
    if maps:
        return [str(v) for v in maps[-1] if v is not None]
    values = _enum_values(em, fm.canonical)
    return values or None


def longest(em: EntityMapping, fm: FieldMapping) -> int | None:
    limits = truncate_lengths(fm)
    if limits:
        return min(limits)
    values = sent_values(em, fm)
    if values:
        return max(len(v) for v in values)
    try:
        metadata = resolve_path(em.entity, fm.canonical).metadata
    except KeyError:
        return None
    lengths = [m.max_length for m in metadata if isinstance(m, MaxLen)]
    return min(lengths) if lengths else None
