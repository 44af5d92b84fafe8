"""Compare an entity mapping with a live native schema (pure; ``refsync validate --online``).

:func:`check_against_schema` returns one message per problem: a mapped native field is
missing, not writable where written, of an incompatible type or too short, a stage or
value_map target is not among a restricted picklist's values, or the match key is not an
external-id / unique field. The connector supplies the :class:`~mapping.schema.ObjectSchema`
(``describe``); this module never talks to a system.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import typing
from collections.abc import Mapping
from typing import Any

from annotated_types import MaxLen

from mapping.schema import FieldSchema, ObjectSchema
from mapping.spec import Direction, EntityMapping, FieldMapping, resolve_path
from mapping.transforms import TransformStep

__all__ = ["check_against_schema", "native_kind"]

_NATIVE_KINDS: dict[str, str] = {
    **dict.fromkeys(
        [
            "string",
            "text",
            "textarea",
            "email",
            "phone",
            "phone_number",
            "url",
            "id",
            "combobox",
            "encryptedstring",
            "picklist",
            "enumeration",
            "reference",
        ],
        "string",
    ),
    **dict.fromkeys(
        ["int", "integer", "long", "double", "currency", "percent", "number"], "number"
    ),
    **dict.fromkeys(["boolean", "bool", "checkbox", "booleancheckbox"], "boolean"),
    **dict.fromkeys(["datetime", "date_time", "datetimeinstant"], "datetime"),
    "date": "date",
    "multipicklist": "list",
}

# What a native kind accepts from the value refsync sends (after transforms).
_ACCEPTS: dict[str, frozenset[str]] = {
    "string": frozenset({"string", "enum", "number", "boolean", "datetime", "date"}),
    "number": frozenset({"number"}),
    "boolean": frozenset({"boolean"}),
    "datetime": frozenset({"datetime"}),
    "date": frozenset({"date", "datetime"}),
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


def native_kind(schema_type: str) -> str | None:
    """The coarse kind of a native type name (string, number, ...), None if unknown."""
    return _NATIVE_KINDS.get(schema_type.lower())


def check_against_schema(
    em: EntityMapping,
    schema: ObjectSchema,
    *,
    direction: Direction,
    related: Mapping[str, ObjectSchema] | None = None,
) -> list[str]:
    """Every mismatch between ``em`` and the live ``schema`` of its object.

    ``direction`` is the connection's role: ``in`` (only read), ``out`` (only written) or
    ``both``. ``related`` holds schemas of other objects by name, used to check the far
    side of dotted relations (``Partner__r.Refsync_Id__c``) when available.
    """
    problems = _check_key(em, schema, direction=direction)
    writes = direction in ("out", "both")
    reads = direction in ("in", "both")
    for fm in em.fields:
        if (fm.writes and writes) or (fm.reads and reads):
            problems += _check_field(em, fm, schema, writes=writes and fm.writes, related=related)
    if em.stage is not None:
        problems += _check_stage(em, schema, reads=reads, writes=writes)
    return problems


def _name(schema: ObjectSchema, field: str) -> str:
    return f"{schema.name}.{field}"


def _missing(schema: ObjectSchema, field: str) -> str:
    return (
        f"{_name(schema, field)} does not exist or is not visible to the integration user; "
        "create it, grant field-level access, or fix the mapping"
    )


def _check_key(em: EntityMapping, schema: ObjectSchema, *, direction: Direction) -> list[str]:
    key = schema.fields.get(em.key)
    if key is None:
        return [_missing(schema, em.key)]
    problems = []
    # Upserts match on the key, so a written key must be unique; a pure source only reads it.
    if direction != "in" and not (key.external_id or key.unique):
        problems.append(
            f"{_name(schema, em.key)} is the match key but is neither an external id nor "
            "unique; mark it External ID / unique, or choose another key"
        )
    if direction != "in" and not key.createable:
        problems.append(f"{_name(schema, em.key)} is the match key but is not createable")
    return problems


def _check_field(
    em: EntityMapping,
    fm: FieldMapping,
    schema: ObjectSchema,
    *,
    writes: bool,
    related: Mapping[str, ObjectSchema] | None,
) -> list[str]:
    if fm.native.startswith("associations."):
        return []  # HubSpot associations are not properties
    if "." in fm.native:
        return _check_relation(fm.native, schema, related or {})
    native = schema.fields.get(fm.native)
    if native is None:
        return [_missing(schema, fm.native)]
    if not writes:
        return []
    problems = _check_writable(schema, native)
    kind = _sent_kind(em, fm)
    want = native_kind(native.type)
    if kind is not None and want is not None and kind not in _ACCEPTS[want]:
        problems.append(
            f"{_name(schema, fm.native)} is a {native.type} field but "
            f"{em.entity}.{fm.canonical} sends a {kind}; add a transform or map another field"
        )
    problems += _check_length(em, fm, schema, native)
    problems += _check_picklist(em, fm, schema, native)
    return problems


def _check_writable(schema: ObjectSchema, native: FieldSchema) -> list[str]:
    missing = [
        w
        for w, ok in (("createable", native.createable), ("updateable", native.updateable))
        if not ok
    ]
    if not missing:
        return []
    return [
        f"{_name(schema, native.name)} is not {' or '.join(missing)} for the integration user; "
        "grant edit access or set direction: in"
    ]


def _check_relation(
    path: str, schema: ObjectSchema, related: Mapping[str, ObjectSchema]
) -> list[str]:
    relation, _, target_field = path.partition(".")
    lookup = relation[:-3] + "__c" if relation.endswith("__r") else relation + "Id"
    native = schema.fields.get(lookup)
    if native is None or not native.reference_to:
        return [
            f"{_name(schema, lookup)} (the lookup behind {relation}) does not exist or is not a "
            "lookup; fix the relation name"
        ]
    problems = []
    for target in native.reference_to:
        far = related.get(target)
        if far is None:
            continue
        ref = far.fields.get(target_field)
        if ref is None:
            problems.append(_missing(far, target_field))
        elif not (ref.external_id or ref.unique):
            problems.append(
                f"{_name(far, target_field)} is used to match {relation} but is not an "
                "external id; mark it External ID"
            )
    return problems


def _truncate_lengths(fm: FieldMapping) -> list[int]:
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
        return "number"
    if step.name in ("boolean", "int", "number") and step.args is not None:
        return "string"  # {boolean: string}, {boolean: {true: Yes}}, {int: string}
    return _STEP_KINDS.get(step.name)


def _sent_kind(em: EntityMapping, fm: FieldMapping) -> str | None:
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


def _sent_values(em: EntityMapping, fm: FieldMapping) -> list[str] | None:
    """The finite set of values this field can send, when it is finite (enum/value_map)."""
    maps = [t for t in map(_value_map_targets, fm.transforms) if t is not None]
    if maps:
        return [str(v) for v in maps[-1] if v is not None]
    values = _enum_values(em, fm.canonical)
    return values or None


def _check_length(
    em: EntityMapping, fm: FieldMapping, schema: ObjectSchema, native: FieldSchema
) -> list[str]:
    if native.length is None or native_kind(native.type) != "string":
        return []
    limits = _truncate_lengths(fm)
    if limits and min(limits) <= native.length:
        return []
    longest = _longest(em, fm)
    if longest is None or longest <= native.length:
        return []
    return [
        f"{_name(schema, fm.native)} holds {native.length} characters but "
        f"{em.entity}.{fm.canonical} may send {longest}; add {{truncate: {native.length}}} "
        "or lengthen the field"
    ]


def _longest(em: EntityMapping, fm: FieldMapping) -> int | None:
    limits = _truncate_lengths(fm)
    if limits:
        return min(limits)
    values = _sent_values(em, fm)
    if values:
        return max(len(v) for v in values)
    try:
        metadata = resolve_path(em.entity, fm.canonical).metadata
    except KeyError:
        return None
    lengths = [m.max_length for m in metadata if isinstance(m, MaxLen)]
    return min(lengths) if lengths else None


def _check_picklist(
    em: EntityMapping, fm: FieldMapping, schema: ObjectSchema, native: FieldSchema
) -> list[str]:
    if not (native.restricted_picklist and native.picklist_values):
        return []
    allowed = set(native.picklist_values)
    values = _sent_values(em, fm)
    if values is None:
        return [
            f"{_name(schema, fm.native)} is a restricted picklist but "
            f"{em.entity}.{fm.canonical} is free text; add a value_map onto its values"
        ]
    unknown = sorted(set(values) - allowed)
    if not unknown:
        return []
    return [
        f"{_name(schema, fm.native)} has no picklist value {', '.join(map(repr, unknown))} "
        f"(sent for {em.entity}.{fm.canonical}); add it to the picklist or fix the value_map"
    ]


def _check_stage(
    em: EntityMapping, schema: ObjectSchema, *, reads: bool, writes: bool
) -> list[str]:
    stage = em.stage
    assert stage is not None
    native = schema.fields.get(stage.native)
    if native is None:
        return [_missing(schema, stage.native)]
    problems = _check_writable(schema, native) if writes else []
    if not native.picklist_values:
        return problems
    allowed = set(native.picklist_values)
    if writes:
        for canonical, target in stage.map.items():
            if target is not None and target not in allowed:
                problems.append(
                    f"{_name(schema, stage.native)} has no value {target!r} (target of stage "
                    f"{canonical.value}); add it to the picklist or fix stage.map"
                )
    if reads:
        for value in stage.inbound:
            if value not in allowed:
                problems.append(
                    f"{_name(schema, stage.native)} has no value {value!r} (stage.inbound); "
                    "it can never be read, fix or remove it"
                )
    return problems
