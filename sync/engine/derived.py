"""Derived canonical data refsync computes itself: definitions from YAML, qualification
results, and the coarsened dates and intervals that destinations of privacy tier
deidentified receive instead of per-patient dates (:func:`coarsen_referral`). Each step
only stores a record when its value really changed, so a run without source changes writes
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mapping.model import QualifiedReferralDefinition, Referral
from mapping.qualification import evaluate, select_definition
from sync.state import StateStore

__all__ = [
    "DEFINITIONS_SYSTEM",
    "coarsen_referral",
    "coarsen_referrals",
    "requalified",
    "store_definitions",
]

DEFINITIONS_SYSTEM = "definitions"
_SAME_RESULT = ("status", "missing", "failed_rules", "definition_version")


def store_definitions(
    store: StateStore, definitions: Iterable[QualifiedReferralDefinition]
) -> list[str]:
    """Put the YAML definitions into the canonical store; return the ids that changed."""
    items = [(d.id, d.model_dump(mode="json"), False) for d in definitions]
    if not items:
        return []
    result = store.put_records("definition", items)
    return result.changed


def requalified(
    data: Mapping[str, Any], definitions: list[QualifiedReferralDefinition], now: datetime
) -> dict[str, Any] | None:
    """``data`` with its qualification re-evaluated; None when the result is the same."""
    referral = Referral.model_validate(data)
    definition = select_definition(referral, definitions, referral.received_at or now)
    if definition is None:
        return None
    result = evaluate(referral, definition, now=now).model_dump(mode="json")
    old = data.get("qualification") or {}
    if all(old.get(k) == result.get(k) for k in _SAME_RESULT):
        return None
    return {**data, "qualification": result}


_START_STAGES = frozenset({"contacted", "referred", "intake_received", "accepted"})


def coarsen_referral(data: Mapping[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """The derived fields of one referral (pure): week/month of receipt in ``tz``, the
    week its current stage was entered, and whole days referred -> scheduled -> completed
    -> loop closed. Receipt falls back on the first intake-side stage event."""
    history = [e for e in data.get("stage_history") or [] if e.get("entered_at")]
    history.sort(key=lambda e: _when(e["entered_at"]))

    def first(stage: str) -> datetime | None:
        return next((_when(e["entered_at"]) for e in history if e.get("stage") == stage), None)

    received = _opt(data.get("received_at")) or next(
        (_when(e["entered_at"]) for e in history if e.get("stage") in _START_STAGES), None
    )
    scheduled = first("scheduled")
    completed = _opt(data.get("completed_at")) or first("completed")
    current = [_when(e["entered_at"]) for e in history if e.get("stage") == data.get("stage")]
    return {
        "received_month": received.astimezone(tz).strftime("%Y-%m") if received else None,
        "received_week": _week(received, tz),
        "stage_entered_week": _week(current[-1] if current else None, tz),
        "days_to_schedule": _days(received, scheduled),
        "days_to_complete": _days(received, completed),
        "days_to_close_loop": _days(completed, _opt(data.get("loop_closed_at"))),
    }


def coarsen_referrals(store: StateStore, tz: ZoneInfo, ids: Iterable[str] | None = None) -> int:
    """Recompute the derived fields of the referrals ``ids`` (None: every live referral);
    store what changed. Returns the count."""
    if ids is None:
        records: Iterable[Any] = store.iter_records("referral")
    else:
        batch = list(dict.fromkeys(ids))
        records = [
            rec
            for start in range(0, len(batch), 2000)
            for rec in store.get_records("referral", batch[start : start + 2000]).values()
            if not rec.tombstone
        ]
    updates = []
    for rec in records:
        new = {**rec.data, **coarsen_referral(rec.data, tz)}
        if new != rec.data:
            updates.append((rec.id, new, False))
    if updates:
        store.put_records("referral", updates)
    return len(updates)


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _opt(value: str | None) -> datetime | None:
    return _when(value) if value else None


def _week(at: datetime | None, tz: ZoneInfo) -> str | None:
    if at is None:
        return None
    year, week, _ = at.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def _days(start: datetime | None, end: datetime | None) -> int | None:
    """Whole days from ``start`` to ``end``; None when either is unknown or end is earlier."""
    if start is None or end is None or end < start:
        return None
    return (end - start).days
