"""Stage events -> the effective stage of one referral (pure).

Scheduling exports are event streams, not snapshots: every row or resource is a piece of
evidence "stage S held at time T". :func:`effective_stage` folds the evidence of one referral
in time order, so

- replaying the same events yields the same result (no-op);
- an older event never overrides a newer one, whatever order the files arrive in;
- a cancellation or no-show after scheduling is applied;
- a reschedule (scheduled) after a no-show or an appointment cancellation is applied;
- nothing moves a referral back to a pre-scheduling stage once it is scheduled, and
  ``completed`` is final (a later follow-up booking does not reopen it).

Ties on the event time are broken by the appointment time (the later appointment is the
current one: a cancel-and-rebook in one snapshot leaves the referral scheduled), then by
stage strength (completed last), then by event id - so the fold is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mapping.model import Stage

__all__ = ["StageEvidence", "effective_stage", "evidence_from_fields", "transition_applies"]

_PRE_SCHEDULING = {
    Stage.CONTACTED: 0,
    Stage.REFERRED: 1,
    Stage.INTAKE_RECEIVED: 2,
    Stage.ACCEPTED: 3,
}
_LOST_AFTER_SCHEDULING = {Stage.CANCELLED, Stage.NO_SHOW}
_TIE_ORDER = {
    **_PRE_SCHEDULING,
    Stage.DECLINED: 4,
    Stage.SCHEDULED: 5,
    Stage.CANCELLED: 6,
    Stage.NO_SHOW: 7,
    Stage.COMPLETED: 8,
}
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StageEvidence:
    """One stage event: ``stage`` held at ``at`` (tz-aware)."""

    stage: Stage
    at: datetime
    event_id: str = ""
    appointment_at: datetime | None = None

    def _order(self) -> tuple[datetime, datetime, int, str]:
        return (self.at, self.appointment_at or _EARLIEST, _TIE_ORDER[self.stage], self.event_id)


def evidence_from_fields(record_id: str, fields: Mapping[str, Any]) -> StageEvidence:
    """Evidence from a stage-event native record of this connector."""
    return StageEvidence(
        stage=Stage(fields["stage"]),
        at=fields["event_at"],
        event_id=record_id,
        appointment_at=fields.get("appointment_at"),
    )


def transition_applies(current: Stage | None, new: Stage) -> bool:
    """Whether newer evidence of ``new`` moves a referral that is at ``current``."""
    if current is None:
        return True
    if new is current or current is Stage.COMPLETED:
        return False
    if new in _PRE_SCHEDULING:
        return current in _PRE_SCHEDULING and _PRE_SCHEDULING[new] > _PRE_SCHEDULING[current]
    if new is Stage.SCHEDULED:
        return current in _PRE_SCHEDULING or current in _LOST_AFTER_SCHEDULING
    if new in _LOST_AFTER_SCHEDULING:
        return current in _PRE_SCHEDULING or current in {Stage.SCHEDULED, *_LOST_AFTER_SCHEDULING}
    if new is Stage.DECLINED:
        return current in _PRE_SCHEDULING
    return new is Stage.COMPLETED


def effective_stage(
    events: Iterable[StageEvidence], current: StageEvidence | None = None
) -> StageEvidence | None:
    """The evidence that set the referral's stage last, folding ``events`` in time order.

    ``current`` is what the referral already holds (from earlier runs); events older than
    it cannot override it.
    """
    state = current
    for event in sorted(events, key=StageEvidence._order):
        if state is not None and event._order() <= state._order():
            continue  # older (or the same) evidence never overrides newer
        if transition_applies(state.stage if state else None, event.stage):
            state = event
    return state
