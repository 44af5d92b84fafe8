"""Compare an entity mapping with a live native schema (pure; ``refsync validate --online``).

:func:`check_against_schema` returns one message per problem: a mapped native field is
missing, not writable where written, of an incompatible type or too short, a stage or
value_map target is not among a restricted picklist's values, or the match key is not an
external-id / unique field. The connector supplies the :class:`~mapping.schema.ObjectSchema`
(``describe``); this module never talks to a system.
"""

from __future__ import annotations

from collections.abc import Mapping

from mapping._kinds import ACCEPTS, longest, native_kind, sent_kind, sent_values, truncate_lengths
from mapping.schema import FieldSchema, ObjectSchema
from mapping.spec import Direction, EntityMapping, FieldMapping
from mapping.spec_check import Loc, SpecProblem

__all__ = ["check_against_schema", "native_kind", "schema_problems"]


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
    side of dotted relations when available. How the system spells types, relations and
    flat keys is ``schema.dialect`` (the connector's, see :class:`~mapping.schema.Dialect`).
    """
    found = schema_problems(em, schema, direction=direction, related=related)
    return [p.message for p in found]


def schema_problems(
    em: EntityMapping,
    schema: ObjectSchema,
    *,
    direction: Direction,
    related: Mapping[str, ObjectSchema] | None = None,
) -> list[SpecProblem]:
    """As :func:`check_against_schema`, each problem with its place in the entity mapping."""
    at_key: Loc = ("key",)
    found = [SpecProblem(at_key, m) for m in _check_key(em, schema, direction=direction)]
    writes = direction in ("out", "both")
    reads = direction in ("in", "both")
    for i, fm in enumerate(em.fields):
        if (fm.writes and writes) or (fm.reads and reads):
            messages = _check_field(em, fm, schema, writes=writes and fm.writes, related=related)
            found += [SpecProblem(("fields", i, "native"), m) for m in messages]
    if em.stage is not None:
        found += _check_stage(em, schema, reads=reads, writes=writes)
    return found


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
    if schema.dialect.is_flat(fm.native):
        return []  # a flat dotted key (an association) is not a field of the object
    if "." in fm.native:
        return _check_relation(fm.native, schema, related or {})
    native = schema.fields.get(fm.native)
    if native is None:
        return [_missing(schema, fm.native)]
    if not writes:
        return []
    problems = _check_writable(schema, native)
    kind = sent_kind(em, fm)
    want = native_kind(native.type, schema.dialect)
    if kind is not None and want is not None and kind not in ACCEPTS[want]:
        problems.append(
            f"{_name(schema, fm.native)} is a {native.type} field but "
            f"{em.entity}.{fm.canonical} sends a {kind}; add a transform or map another field"
        )
    problems += _check_length(em, fm, schema, native)
    problems += _check_picklist(em, fm, schema, native)
    return problems


def _check_writable(schema: ObjectSchema, native: FieldSchema) -> list[str]:
    if native.calculated:
        return [
            f"{_name(schema, native.name)} is a formula (calculated) field: the system computes "
            "it and refuses writes (INVALID_FIELD_FOR_INSERT_UPDATE); set direction: in or map "
            "a writable field"
        ]
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
    lookup = schema.dialect.lookup_field(relation)
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


def _check_length(
    em: EntityMapping, fm: FieldMapping, schema: ObjectSchema, native: FieldSchema
) -> list[str]:
    if native.length is None or native_kind(native.type, schema.dialect) != "string":
        return []
    limits = truncate_lengths(fm)
    if limits and min(limits) <= native.length:
        return []
    most = longest(em, fm)
    if most is None or most <= native.length:
        return []
    return [
        f"{_name(schema, fm.native)} holds {native.length} characters but "
        f"{em.entity}.{fm.canonical} may send {most}; add {{truncate: {native.length}}} "
        "or lengthen the field"
    ]


def _check_picklist(
    em: EntityMapping, fm: FieldMapping, schema: ObjectSchema, native: FieldSchema
) -> list[str]:
    if not (native.restricted_picklist and native.picklist_values):
        return []
    allowed = set(native.picklist_values)
    values = sent_values(em, fm)
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
) -> list[SpecProblem]:
    stage = em.stage
    assert stage is not None
    at_native: Loc = ("stage", "native")
    native = schema.fields.get(stage.native)
    if native is None:
        return [SpecProblem(at_native, _missing(schema, stage.native))]
    writable = _check_writable(schema, native) if writes else []
    problems = [SpecProblem(at_native, m) for m in writable]
    allowed = set(native.picklist_values)
    if not allowed:
        return problems
    for canonical, target in stage.map.items() if writes else ():
        if target is not None and target not in allowed:
            problems.append(
                SpecProblem(
                    ("stage", "map", canonical.value),
                    f"{_name(schema, stage.native)} has no value {target!r} (target of stage "
                    f"{canonical.value}); add it to the picklist or fix stage.map",
                )
            )
    for value in stage.inbound if reads else ():
        if value not in allowed:
            problems.append(
                SpecProblem(
                    ("stage", "inbound", value),
                    f"{_name(schema, stage.native)} has no value {value!r} (stage.inbound); "
                    "it can never be read, fix or remove it",
                )
            )
    return problems
