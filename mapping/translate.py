"""Canonical <-> native translation with one entity mapping (pure).

- :func:`to_native` builds the native record a destination receives: only ``out``/``both``
  fields, transforms applied in order, the match key set to the canonical id, the stage
  through the stage map. Dotted native paths nest as relations (``Partner.ref`` ->
  ``{"Partner": {"ref": ...}}``) unless the destination's :class:`~mapping.schema.Dialect`
  declares them flat keys for its connector to resolve. It runs one straight-line function
  per entity mapping, compiled once (:mod:`mapping._outbound`), with
  :func:`reference_to_native` (field by field) as its reference and fallback.
- :func:`to_canonical` reads a native record into an :class:`InboundRecord`: canonical
  dotted path -> validated value. A malformed value never crashes the run: it becomes a
  :class:`~mapping.errors.RecordError` naming the field (never the value). It runs one
  straight-line function per entity mapping, compiled once (:mod:`mapping._inbound`), with
  the per-field converters here as the reference for anything off its fast path.
- :func:`native_fields` lists what to select when reading; :func:`content_hash` is the
  stable hash the write ledger compares.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from mapping import _outbound, transforms
from mapping._inbound import FieldPlan, StagePlan, compile_reader
from mapping._validators import field_validator, text_bounds
from mapping.errors import RecordError, TransformError, ValidationFailed
from mapping.model import Stage
from mapping.schema import GENERIC, Dialect
from mapping.spec import Direction, EntityMapping, FieldMapping, resolve_path
from mapping.transforms import TransformContext

__all__ = [
    "InboundRecord",
    "content_hash",
    "has_native",
    "native_fields",
    "native_value",
    "reference_to_native",
    "to_canonical",
    "to_native",
]


@dataclass(slots=True)
class InboundRecord:
    """A native record read into canonical terms.

    ``values`` maps canonical dotted paths to validated values (``id`` when the match key
    was set); ``stage`` is the translated stage (None when absent); ``errors`` holds one
    record-level error per malformed field.
    """

    values: dict[str, Any] = field(default_factory=dict)
    stage: Stage | None = None
    errors: list[RecordError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def to_native(
    em: EntityMapping,
    record: BaseModel | Mapping[str, Any],
    ctx: TransformContext,
    dialect: Dialect = GENERIC,
) -> dict[str, Any]:
    """The native record for ``record`` (a canonical model or a dict of canonical values),
    spelled in the destination's ``dialect`` (which dotted paths stay flat keys).

    Raises :class:`~mapping.errors.TransformError` (a ``RecordError``) naming the field
    when a value cannot be transformed or the stage has no native target. Runs one
    straight-line function per entity mapping and dialect, compiled once
    (:mod:`mapping._outbound`); :func:`reference_to_native` is what it must equal.
    """
    return _outbound_writer(em, dialect)(record, ctx)


def reference_to_native(
    em: EntityMapping,
    record: BaseModel | Mapping[str, Any],
    ctx: TransformContext,
    dialect: Dialect = GENERIC,
) -> dict[str, Any]:
    """:func:`to_native` interpreted field by field: the reference the compiled writer is
    tested against, and what answers any record off its fast path."""
    key = _canonical_value(record, "id")
    key_str = None if key is None else str(key)
    native: dict[str, Any] = {}
    for fm in em.fields:
        if not fm.writes:
            continue
        value = _canonical_value(record, fm.canonical)
        if fm.transforms:
            # A direct constructor: dataclasses.replace costs several times more, per field.
            fctx = TransformContext(ctx.timezone, fm.canonical, key_str, ctx.resolve_ref)
            try:
                value = transforms.to_native(fm.transforms, value, fctx)
            except TransformError as exc:
                raise _with_context(exc, fm, key_str) from exc
        _put(native, fm.native, value, dialect)
    if em.stage is not None:
        stage = _canonical_value(record, "stage")
        if stage is not None:
            native[em.stage.native] = _stage_target(em, Stage(stage), key_str)
    native[em.key] = key_str
    return native


_WRITERS: dict[tuple[int, tuple[str, ...]], tuple[EntityMapping, _outbound.Writer]] = {}


def _outbound_writer(em: EntityMapping, dialect: Dialect) -> _outbound.Writer:
    """``em``'s outbound translation for ``dialect`` compiled once per mapping object (the
    dialect only decides which dotted native paths stay flat keys)."""
    cache_key = (id(em), dialect.flat_prefixes)
    hit = _WRITERS.get(cache_key)
    if hit is not None and hit[0] is em:  # the entry keeps ``em`` alive, so ids stay unique
        return hit[1]

    def reference(record: Any, ctx: TransformContext) -> dict[str, Any]:
        return reference_to_native(em, record, ctx, dialect)

    fields = [
        _outbound.OutboundField(
            fm.canonical,
            fm.native,
            dialect.is_flat(fm.native),
            transforms.compile_chain(fm.transforms, outbound=True),
        )
        for fm in em.fields
        if fm.writes
    ]
    stage = None
    if em.stage is not None:
        targets = {s: em.stage.native_value(s) for s in Stage}
        # Keyed by text: a StrEnum member hashes and compares as its text, so finds it too.
        known: dict[Any, str] = {s.value: t for s, t in targets.items() if t is not None}
        stage = (em.stage.native, known)
    writer = _outbound.compile_writer(
        f"{em.entity} -> {em.object}", em.key, fields, stage,
        reference=reference, dig=_canonical_value,
    )  # fmt: skip
    if len(_WRITERS) > 512:
        _WRITERS.clear()
    _WRITERS[cache_key] = (em, writer)
    return writer


def to_canonical(
    em: EntityMapping, native: Mapping[str, Any], ctx: TransformContext
) -> InboundRecord:
    """Read ``native`` into canonical values; malformed values become record errors.

    Native fields absent from ``native`` are left out of ``values`` (a partial read does
    not clear canonical data); present-but-null fields are read as None.
    """
    return _inbound_reader(em)(native, ctx)


_Convert = Callable[[Any, TransformContext, str | None], Any]
"""``convert(native value, ctx, record key)``: one inbound field's canonical value."""

_Reader = Callable[[Mapping[str, Any], TransformContext], InboundRecord]

_READERS: dict[int, tuple[EntityMapping, _Reader]] = {}


def _inbound_reader(em: EntityMapping) -> _Reader:
    """``em``'s inbound translation compiled once per mapping object into straight-line
    code (:mod:`mapping._inbound`), each field's converter below as its reference path."""
    hit = _READERS.get(id(em))
    if hit is not None and hit[0] is em:  # the entry keeps ``em`` alive, so ids stay unique
        return hit[1]
    fields = [
        FieldPlan(
            fm.native,
            fm.canonical,
            transforms.compile_chain(fm.transforms, outbound=False),
            field_validator(em.entity, fm.canonical),
            _converter(em, fm),
            text_bounds(em.entity, fm.canonical),
        )
        for fm in em.fields
        if fm.reads
    ]
    stage = None
    if em.stage is not None:
        stage = StagePlan(em.stage.native, _known_stages(em), lambda v, k: _read_stage(em, v, k))
    reader = compile_reader(
        f"{em.entity} <- {em.object}", em.key, fields, stage,
        make=InboundRecord, lookup=_lookup, absent=_ABSENT,
    )  # fmt: skip
    if len(_READERS) > 512:
        _READERS.clear()
    _READERS[id(em)] = (em, reader)
    return reader


def _known_stages(em: EntityMapping) -> dict[str, Stage | None]:
    """Native stage text -> stage, as ``StageMap.canonical_stage`` answers it (``inbound``
    first, then the first stage mapped to the text); blank text reads as no stage."""
    assert em.stage is not None
    known: dict[str, Stage | None] = {}
    for stage, target in em.stage.map.items():
        if target is not None:
            known.setdefault(target, stage)
    known.update(em.stage.inbound)
    known[""] = None
    return known


def _converter(em: EntityMapping, fm: FieldMapping) -> _Convert:
    entity = em.entity
    validate = field_validator(entity, fm.canonical)
    steps = transforms.compile_chain(fm.transforms, outbound=False)

    def invalid(value: Any, exc: ValidationError, key: str | None) -> Any:
        return _invalid_or_default(em, entity, fm, value, exc, key)

    if not steps:

        def convert_plain(value: Any, ctx: TransformContext, key: str | None) -> Any:
            try:
                return validate(value)
            except ValidationError as exc:
                return invalid(value, exc, key)

        return convert_plain
    chain = transforms.bind_chain(steps, fm.canonical)

    def convert(value: Any, ctx: TransformContext, key: str | None) -> Any:
        try:
            value = chain(value, ctx, key)
        except TransformError as exc:
            raise _with_context(exc, fm, key) from exc
        try:
            return validate(value)
        except ValidationError as exc:
            return invalid(value, exc, key)

    return convert


def native_fields(em: EntityMapping, direction: Direction) -> list[str]:
    """Native field names to select (``in``) or that are written (``out``), key first."""
    names = [em.key]
    for fm in em.fields:
        if direction == "both" or (fm.reads if direction == "in" else fm.writes):
            names.append(fm.native)
    if em.stage is not None:
        names.append(em.stage.native)
    return list(dict.fromkeys(names))


def content_hash(native: Mapping[str, Any]) -> str:
    """Stable sha256 of a native record (key order does not matter)."""
    text = json.dumps(
        native, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot hash a value of type {type(value).__name__}")


def _invalid_or_default(
    em: EntityMapping,
    entity: str,
    fm: FieldMapping,
    value: Any,
    exc: ValidationError,
    key: str | None,
) -> Any:
    if value is None:
        info = resolve_path(entity, fm.canonical)
        if not info.is_required():
            # An empty native field means "the canonical default" (an empty list, the
            # default role), not an invalid record.
            return info.get_default(call_default_factory=True)
    reason = "; ".join(str(e["msg"]) for e in exc.errors(include_input=False))
    raise ValidationFailed(
        f"{em.object}.{fm.native} -> {entity}.{fm.canonical}: {reason}; "
        "fix the value in the source or add a transform",
        key=key,
        field=fm.canonical,
        code="INVALID_VALUE",
    ) from None


def _read_stage(em: EntityMapping, value: Any, key: str | None) -> Stage | None:
    assert em.stage is not None
    if value is None or value == "":
        return None
    stage = em.stage.canonical_stage(str(value))
    if stage is None:
        raise TransformError(
            f"{em.object}.{em.stage.native} holds a value that is not in the stage map; "
            "add it to stage.map or stage.inbound",
            key=key,
            field="stage",
            code="UNKNOWN_STAGE",
        )
    return stage


def _stage_target(em: EntityMapping, stage: Stage, key: str | None) -> str:
    assert em.stage is not None
    target = em.stage.native_value(stage)
    if target is None:
        raise TransformError(
            f"stage {stage.value} has no target in {em.object}.{em.stage.native}; "
            "add it to stage.map",
            key=key,
            field="stage",
            code="UNMAPPED_STAGE",
        )
    return target


def _with_context(exc: TransformError, fm: FieldMapping, key: str | None) -> TransformError:
    if exc.field is not None and exc.key is not None:
        return exc
    return TransformError(
        exc.message, key=exc.key or key, field=exc.field or fm.canonical, code=exc.code
    )


def _canonical_value(record: BaseModel | Mapping[str, Any], path: str) -> Any:
    if isinstance(record, Mapping) and path in record:
        return record[path]  # a flat dict of canonical dotted paths
    current: Any = record
    for part in path.split("."):
        if current is None:
            return None
        if isinstance(current, Mapping):
            current = current.get(part)
        else:
            current = getattr(current, part, None)
    return current


def _put(native: dict[str, Any], path: str, value: Any, dialect: Dialect) -> None:
    *parents, last = [path] if dialect.is_flat(path) else path.split(".")
    if parents and value is None:
        return  # a relation cannot be cleared through an external-id reference
    target = native
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


_ABSENT: Any = object()


def _lookup(native: Mapping[str, Any], path: str) -> Any:
    """The native value at ``path`` in one pass; ``_ABSENT`` when the record lacks it.

    A flat key named ``path`` wins; otherwise a dotted path is followed through relations.
    """
    if path in native:
        return native[path]
    current: Any = native
    for part in path.split("."):
        if current is None:
            return None  # an empty relation (a relation that is null) reads as None
        if not isinstance(current, Mapping) or part not in current:
            return _ABSENT
        current = current[part]
    return current


def has_native(native: Mapping[str, Any], path: str) -> bool:
    """True when ``native`` holds ``path`` (a flat key, else a dotted relation)."""
    return _lookup(native, path) is not _ABSENT


def native_value(native: Mapping[str, Any], path: str) -> Any:
    """The value at native ``path`` (None when absent), read the way translation reads it."""
    value = _lookup(native, path)
    return None if value is _ABSENT else value
