"""Merging one inbound record into the canonical store (pure: plain data in, plain data out).

The rules, in order:

1. **Echo suppression in native space.** A field counts as changed only when the native
   value read differs from what refsync would send that system for the current canonical
   record. Our own writes coming back, and lossy round trips (a datetime truncated to the
   second), are therefore never mistaken for edits.
2. **Field ownership.** A field owned by another connection is not changed; the attempt is a
   :class:`Conflict`. Unowned fields may be changed by any source.
3. **Stages** go through the stage machine with the stage owner's rules; a stage event older
   than the referral's latest stage event is stale and ignored (replays change nothing).
4. The result is validated against the canonical model; an invalid record is a record error.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from mapping.errors import RecordError, StageTransitionRefused, ValidationFailed
from mapping.model import Referral, Stage, StageEvent, entity_model
from mapping.stages import StageRules, apply_stage
from mapping.translate import native_value

__all__ = ["Conflict", "MergeResult", "Ownership", "changed_fields", "merge_record"]


@dataclass(frozen=True, slots=True)
class Ownership:
    """Which connection owns each canonical field (``entity -> path -> connection``)."""

    fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    stage: Mapping[str, str] = field(default_factory=dict)

    def owner(self, entity: str, path: str) -> str | None:
        owners = self.fields.get(entity, {})
        for candidate in _prefixes(path):
            if candidate in owners:
                return owners[candidate]
        return None


@dataclass(frozen=True, slots=True)
class Conflict:
    entity: str
    canonical_id: str
    field: str
    proposing_system: str
    owner: str


@dataclass(slots=True)
class MergeResult:
    """What merging one record did. ``data`` is None when the merge changed nothing."""

    data: dict[str, Any] | None = None
    created: bool = False
    changed_fields: list[str] = field(default_factory=list)
    transition: tuple[str | None, str] | None = None
    conflicts: list[Conflict] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)


def changed_fields(
    read: Mapping[str, Any], expected: Mapping[str, Any], names: list[str]
) -> list[str]:
    """The native ``names`` whose value in ``read`` differs from ``expected``."""
    return [n for n in names if _norm(native_value(read, n)) != _norm(native_value(expected, n))]


def merge_record(
    entity: str,
    record_id: str,
    current: Mapping[str, Any] | None,
    values: Mapping[str, Any],
    *,
    system: str,
    ownership: Ownership,
    stage: Stage | None = None,
    event_at: datetime,
) -> MergeResult:
    """Merge canonical ``values`` (dotted path -> value) proposed by ``system``."""
    result = MergeResult(created=current is None)
    data: dict[str, Any] = copy.deepcopy(dict(current)) if current else {"id": record_id}
    for path, value in values.items():
        if path == "id":
            continue
        owner = ownership.owner(entity, path)
        if owner is not None and owner != system and current is not None:
            if _get(data, path) != to_jsonable_python(value):
                result.conflicts.append(Conflict(entity, record_id, path, system, owner))
            continue
        if _set(data, path, to_jsonable_python(value)):
            result.changed_fields.append(path)
    try:
        model = entity_model(entity).model_validate(data)
    except ValidationError as exc:
        result.errors.append(_invalid(entity, record_id, exc))
        return result
    if stage is not None and isinstance(model, Referral):
        model = _merge_stage(model, stage, system, ownership, event_at, result, current is None)
    if current is None or result.changed_fields or result.transition is not None:
        result.data = model.model_dump(mode="json")
    return result


def _merge_stage(
    referral: Referral,
    stage: Stage,
    system: str,
    ownership: Ownership,
    at: datetime,
    result: MergeResult,
    created: bool,
) -> Referral:
    before = None if created else referral.stage
    if created:
        event = StageEvent(stage=stage, entered_at=at, system=system)
        result.transition = (None, stage.value)
        return referral.model_copy(update={"stage": stage, "stage_history": [event]})
    last = referral.stage_history[-1].entered_at if referral.stage_history else None
    if stage == referral.stage or (last is not None and at < last):
        return referral  # a replayed or stale event never overrides a newer one
    owner = ownership.stage.get("referral")
    rules = StageRules(owner=owner)
    try:
        moved = apply_stage(referral, stage, system=system, at=at, rules=rules)
    except StageTransitionRefused as exc:
        result.errors.append(exc)
        return referral
    if owner is not None and owner != system:
        result.conflicts.append(Conflict("referral", referral.id, "stage", system, owner))
        return referral
    result.transition = (before.value if before else None, stage.value)
    return moved


def _invalid(entity: str, record_id: str, exc: ValidationError) -> ValidationFailed:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    return ValidationFailed(
        f"{entity} {record_id!r}: field {where!r} is invalid ({first['type']}); fix the "
        "source record or the mapping's transforms",
        key=record_id,
        field=where,
        code="INVALID_CANONICAL",
    )


def _prefixes(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def _get(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _set(data: dict[str, Any], path: str, value: Any) -> bool:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    if node.get(parts[-1], _MISSING) == value:
        return False
    node[parts[-1]] = value
    return True


_MISSING = object()


def _norm(value: Any) -> Any:
    if value == "" or value == []:
        return None
    if isinstance(value, Mapping):
        return {k: _norm(v) for k, v in value.items() if k != "attributes"}
    return value
