"""Merging one inbound record into the canonical store (pure: plain data in, plain data out).

The rules, in order:

1. **Echo suppression in native space.** A field counts as changed only when the native
   value read differs from what refsync would send that system for the current canonical
   record. Our own writes coming back, and lossy round trips (a datetime truncated to the
   second), are therefore never mistaken for edits.
2. **Field ownership.** A field owned by another connection is not changed; the attempt is a
   :class:`Conflict`. Unowned fields may be changed by any source.
3. **Stages** are never merged as values: each stage report is a
   :class:`~mapping.model.ReferralEvent` appended to the referral's event log (an event id
   already there is a replay and adds nothing), and the stage, its history and the
   stage-derived fields are the fold of the whole log (:func:`mapping.history.fold_events`,
   owners per stage). The outcome of every new event is returned for the run report.
4. The result is validated against the canonical model; an invalid record is a record error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from mapping.errors import RecordError, ValidationFailed
from mapping.history import Outcome, fold_events
from mapping.model import Referral, ReferralEvent, Stage, entity_model
from mapping.stages import StageRules
from mapping.translate import native_value

__all__ = [
    "STAGE_DERIVED",
    "Conflict",
    "MergeResult",
    "Ownership",
    "changed_fields",
    "merge_record",
]

STAGE_DERIVED = (
    "appointment_at",
    "completed_at",
    "cancel_reason",
    "referred_at",
    "accepted_at",
    "scheduled_at",
    "stage_entered_at",
    "lost_at",
)
"""Referral fields that come from the event log's fold, never from a value merge."""


@dataclass(frozen=True, slots=True)
class Ownership:
    """Which connection owns each canonical field (``entity -> path -> connection``)."""

    fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    stage: Mapping[str, Mapping[Stage, str]] = field(default_factory=dict)  # entity -> owners

    def stage_rules(self, entity: str = "referral") -> StageRules:
        """The stage machine's rules with this program's owners per stage."""
        return StageRules(owners=dict(self.stage.get(entity, {})))

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
    outcomes: list[tuple[ReferralEvent, Outcome]] = field(default_factory=list)  # new events
    newest: datetime | None = None  # the newest event time in the log before these


def changed_fields(
    read: Mapping[str, Any],
    expected: Mapping[str, Any],
    names: list[str],
    envelope: frozenset[str] = frozenset(),
) -> list[str]:
    """The native ``names`` whose value in ``read`` differs from ``expected``; keys of the
    system's record ``envelope`` (its dialect's, never fields) are not compared."""
    return [
        n
        for n in names
        if _norm(native_value(read, n), envelope) != _norm(native_value(expected, n), envelope)
    ]


def merge_record(
    entity: str,
    record_id: str,
    current: Mapping[str, Any] | None,
    values: Mapping[str, Any],
    *,
    system: str,
    ownership: Ownership,
    events: Sequence[ReferralEvent] = (),
) -> MergeResult:
    """Merge canonical ``values`` (dotted path -> value) and stage ``events`` from ``system``."""
    result = MergeResult(created=current is None)
    # A shallow copy: _set copies each nested dict it goes through (copy on write), so
    # ``current`` is never changed. A deep copy of the whole referral (its event log too)
    # per merged row was a quarter of a full read's merge CPU, mostly on replayed rows.
    data: dict[str, Any] = dict(current) if current else {"id": record_id}
    for path, value in values.items():
        if path == "id" or (events and path in STAGE_DERIVED):
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
    if events and isinstance(model, Referral):
        model = _fold_into(model, events, ownership, result, created=current is None)
    if current is None or result.changed_fields or result.transition is not None:
        result.data = model.model_dump(mode="json")
    return result


def _fold_into(
    referral: Referral,
    events: Sequence[ReferralEvent],
    ownership: Ownership,
    result: MergeResult,
    *,
    created: bool,
) -> Referral:
    """Append the new ``events`` to the log and re-fold it; note what changed."""
    log = referral.events or _log_from_history(referral)
    known = {e.id for e in log}
    newest = max((e.at for e in log), default=None)
    fresh = [e for e in dict((e.id, e) for e in events).values() if e.id not in known]
    if not fresh:
        return referral
    result.newest = newest
    folded = fold_events([*log, *fresh], ownership.stage_rules())
    result.outcomes = [(e, folded.outcomes[e.id]) for e in fresh]
    update: dict[str, Any] = {"events": [*log, *fresh], "stage_history": folded.history}
    if folded.stage is not None:
        update["stage"] = folded.stage
    update.update(folded.derived)
    before = None if created else referral.stage
    moved = referral.model_copy(update=update)  # typed values: no second validation
    result.changed_fields.append("events")
    for path in ("stage_history", *STAGE_DERIVED):
        if getattr(moved, path) != getattr(referral, path) and path not in result.changed_fields:
            result.changed_fields.append(path)
    if created or moved.stage != before:
        result.transition = (before.value if before else None, moved.stage.value)
    return moved


def _log_from_history(referral: Referral) -> list[ReferralEvent]:
    """A log for a referral stored before logs were kept: its stage history as events."""
    return [
        ReferralEvent(
            id=f"history:{e.system}:{e.stage.value}:{e.entered_at.isoformat()}",
            system=e.system,
            stage=e.stage,
            at=e.entered_at,
        )
        for e in referral.stage_history
    ]


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
        nxt = dict(nxt) if isinstance(nxt, dict) else {}  # the caller's nested dict stays as is
        node[part] = nxt
        node = nxt
    if node.get(parts[-1], _MISSING) == value:
        return False
    node[parts[-1]] = value
    return True


_MISSING = object()


def _norm(value: Any, envelope: frozenset[str]) -> Any:
    if value == "" or value == []:
        return None
    if isinstance(value, Mapping):
        return {k: _norm(v, envelope) for k, v in value.items() if k not in envelope}
    return value
