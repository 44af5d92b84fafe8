"""Native records -> referral events, and what the fold decided about them -> the run report.

A record a connector marks as an event (:class:`connectors.base.EventMeta`: a row of a
scheduling export) always becomes one event, identified by its native id, so reading the
file again adds nothing. A snapshot record (a CRM's referral) becomes an event only when its
stage changed in native space, stamped with the record's modification time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from connectors.base import NativeRecord
from mapping.errors import ValidationFailed
from mapping.history import Decision, Outcome
from mapping.model import ReferralEvent, Stage

__all__ = ["event_for", "outcome_message"]


def event_for(
    source: str,
    rec: NativeRecord,
    stage: Stage,
    values: Mapping[str, Any],
    *,
    received_at: datetime,
) -> ReferralEvent:
    """The event ``rec`` reports (``values``: its canonical values, for the derived fields).

    Raises :class:`ValidationFailed` (a record error) when the event cannot be built.
    """
    meta = rec.event
    at = meta.at if meta is not None else (rec.modified_at or received_at)
    event_id = (
        f"{source}:{rec.id}"
        if meta is not None
        else f"{source}:{rec.id}:{stage.value}:{at.isoformat()}"
    )
    try:
        return ReferralEvent(
            id=event_id,
            system=source,
            stage=stage,
            at=at,
            status=meta.status if meta else None,
            appointment_id=meta.appointment_id if meta else None,
            parent_appointment_id=meta.parent_appointment_id if meta else None,
            appointment_at=values.get("appointment_at"),
            completed_at=values.get("completed_at"),
            cancel_reason=values.get("cancel_reason"),
            source=meta.source if meta else None,
            received_at=received_at,
        )
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "event"
        raise ValidationFailed(
            f"{rec.id}: the stage event's {where} is invalid; fix the source record",
            key=rec.id,
            field=where,
            code="INVALID_EVENT",
        ) from exc


def outcome_message(label: str, event: ReferralEvent, outcome: Outcome) -> str:
    """A report line naming the referral number, the decision, and the file and line."""
    where = f" ({event.source})" if event.source else ""
    verb = {
        Decision.REFUSED: "refused",
        Decision.CONFLICT: "conflict",
        Decision.SUPERSEDED: "superseded",
    }.get(outcome.decision, outcome.decision.value)
    return f"{label}: {event.stage.value} from {event.system} {verb}: {outcome.reason}{where}"
