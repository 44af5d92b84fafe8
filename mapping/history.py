"""A referral's stage as a pure fold of its event log.

Every system's word about a referral's stage is kept as a :class:`~mapping.model.ReferralEvent`
(what it said, when it became true, from which file and line). :func:`fold_events` replays
the log in event-time order and decides each event once, so the same events in any order,
split over any files or pages, read once or ten times, give the same state.

**Order.** Events are sorted by

1. ``at``, the time the status became true;
2. status precedence at equal times (:data:`PRECEDENCE`: the appointment lifecycle order,
   so a booking and its cancellation stamped with the same minute end cancelled, and a
   completion outranks everything);
3. source position (``source``: file and line, or resource pointer), then system, then id.

**Decisions** (:class:`Decision`), in the order they are checked:

- ``applied``: the event moved the referral (or set its first stage);
- ``same``: the referral was already at that stage (a repeated report);
- ``rescheduled``: a booking of another appointment while scheduled: the appointment moves,
  the stage does not;
- ``superseded``: a report about an appointment that no longer decides the stage: one that
  a later booking replaced (or that a booking names as its parent), a cancellation of an
  appointment other than the current one, or a booking report of an appointment whose
  outcome is already applied (see :func:`_is_superseded`): the referral was rebooked, not
  lost, and an outcome is never undone by an older booking row;
- ``conflict``: the stage is owned by another system (ownership is checked before the
  machine, so a non-owner's move is a conflict, never a rejected record);
- ``refused``: the stage machine refused the move (:func:`mapping.stages.decide`).

**Implied bookings.** An outcome of a new appointment after a lost one (a snapshot export's
only row for a rebooked visit) implies its booking: ``<event id>#booking`` is decided just
before it (:func:`_implied_booking`).

**Derived fields.** ``appointment_at``, ``completed_at``, ``cancel_reason`` and the stage
timings (``referred_at``, ``accepted_at``, ``scheduled_at``: first entry; ``stage_entered_at``;
``lost_at``) come from the applied events only: a refused or superseded event changes
nothing. :attr:`Folded.derived` holds just the fields the log decided, so a referral whose
log says nothing about them keeps what its other sources gave it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mapping.model import ReferralEvent, Stage, StageEvent
from mapping.stages import StageRules, decide

__all__ = ["PRECEDENCE", "Decision", "Folded", "Outcome", "event_order", "fold_events"]

PRECEDENCE: Mapping[Stage, int] = {
    Stage.CONTACTED: 0,
    Stage.REFERRED: 1,
    Stage.INTAKE_RECEIVED: 2,
    Stage.ACCEPTED: 3,
    Stage.SCHEDULED: 4,
    Stage.DECLINED: 5,
    Stage.CANCELLED: 6,
    Stage.NO_SHOW: 7,
    Stage.COMPLETED: 8,
}
"""Tie-break for events with equal times: the later in this order is applied later."""

_LOST_APPOINTMENT = frozenset({Stage.CANCELLED, Stage.NO_SHOW})


class Decision(StrEnum):
    APPLIED = "applied"
    SAME = "same"
    RESCHEDULED = "rescheduled"
    SUPERSEDED = "superseded"
    CONFLICT = "conflict"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the fold decided about one event, and why (a sentence without values)."""

    decision: Decision
    before: Stage | None
    after: Stage | None
    reason: str
    owner: str | None = None  # the owning system, for a conflict


@dataclass(slots=True)
class Folded:
    """The state a log folds to."""

    stage: Stage | None = None
    history: list[StageEvent] = field(default_factory=list)
    derived: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    appointment_id: str | None = None
    replaced: set[str] = field(default_factory=set)
    ended: set[tuple[str, datetime | None]] = field(default_factory=set)  # (appointment, time)


def _source_key(source: str | None) -> tuple[str, int]:
    if not source:
        return ("", 0)
    head, _, tail = source.rpartition(":")
    return (head, int(tail)) if head and tail.isdigit() else (source, 0)


def event_order(event: ReferralEvent) -> tuple[datetime, int, tuple[str, int], str, str]:
    """The sort key of the fold (see the module docstring)."""
    return (
        event.at,
        PRECEDENCE[event.stage],
        _source_key(event.source),
        event.system,
        event.id,
    )


def fold_events(events: Iterable[ReferralEvent], rules: StageRules) -> Folded:
    """Fold ``events`` (any order, repeats allowed).

    Two events with one id are one event read twice; should their contents differ (a source
    that reuses an id), the same one of them counts whatever the arrival order.
    """
    unique: dict[str, ReferralEvent] = {}
    for event in events:
        seen = unique.setdefault(event.id, event)
        if seen is not event and seen != event and _content(event) < _content(seen):
            unique[event.id] = event
    state = Folded()
    for event in sorted(unique.values(), key=event_order):
        booking = _implied_booking(state, event)
        if booking is not None:
            _step(state, booking, rules)
        _step(state, event, rules)
    _stage_timings(state)
    return state


def _stage_timings(state: Folded) -> None:
    """When each stage was first entered, the current one entered, and the loss (if lost)."""
    if not state.history:
        return
    firsts: dict[Stage, datetime] = {}
    for moved in state.history:
        firsts.setdefault(moved.stage, moved.entered_at)
    for stage, name in _TIMED.items():
        state.derived[name] = firsts.get(stage)
    last = state.history[-1]
    state.derived["stage_entered_at"] = last.entered_at
    lost = last.stage in (*_LOST_APPOINTMENT, Stage.DECLINED)
    state.derived["lost_at"] = last.entered_at if lost else None


_TIMED = {Stage.REFERRED: "referred_at", Stage.ACCEPTED: "accepted_at",
          Stage.SCHEDULED: "scheduled_at"}  # fmt: skip


def _content(event: ReferralEvent) -> str:
    return event.model_dump_json()


def _step(state: Folded, event: ReferralEvent, rules: StageRules) -> None:
    before = state.stage
    decision, reason, owner = _decide(state, event, rules)
    if decision is Decision.APPLIED:
        _apply(state, event)
    elif decision is Decision.RESCHEDULED:
        _reschedule(state, event)
    elif decision is Decision.SAME:
        _refresh(state, event)
    state.outcomes[event.id] = Outcome(decision, before, state.stage, reason, owner)


def _implied_booking(state: Folded, event: ReferralEvent) -> ReferralEvent | None:
    """The booking an outcome of a *new* appointment implies after a lost one.

    Snapshot exports (athenahealth) list each appointment once, with its current status: a
    referral whose first appointment was cancelled and whose second was then seen shows a
    cancellation and a completion, never the second booking. The outcome of an appointment
    other than the one that was lost is evidence of a rebooking, applied (through the stage
    machine, as ``cancelled -> scheduled``) just before the outcome.
    """
    if (
        state.stage not in _LOST_APPOINTMENT
        or event.stage not in (*_LOST_APPOINTMENT, Stage.COMPLETED)
        or event.appointment_id is None
        or event.appointment_id == state.appointment_id
        or event.appointment_id in state.replaced
    ):
        return None
    when = min(event.at, event.appointment_at or event.at)
    return event.model_copy(
        update={"id": f"{event.id}#booking", "stage": Stage.SCHEDULED, "at": when,
                "completed_at": None, "cancel_reason": None}
    )  # fmt: skip


def _decide(
    state: Folded, event: ReferralEvent, rules: StageRules
) -> tuple[Decision, str, str | None]:
    current, proposed, system = state.stage, event.stage, event.system
    if current is not None and _is_superseded(state, event):
        return Decision.SUPERSEDED, _superseded(system, proposed), None
    if current is not None and proposed == current:
        if _is_other_booking(state, event):
            return Decision.RESCHEDULED, f"{system} booked another appointment", None
        return Decision.SAME, f"{system} reported {proposed.value} again", None
    owner = rules.owner_of(proposed)
    if owner is not None and owner != system:
        reason = (
            f"{system} proposed {proposed.value}, but {owner} owns that stage; "
            "the event is kept and not applied"
        )
        return Decision.CONFLICT, reason, owner
    verdict = decide(current, proposed, system=system, rules=rules)
    if not verdict.accepted:
        return Decision.REFUSED, verdict.reason, None
    return Decision.APPLIED, verdict.reason, None


def _is_superseded(state: Folded, event: ReferralEvent) -> bool:
    """An event about an appointment that no longer decides the referral's stage.

    - any report (but a completion) of an appointment a later booking replaced;
    - a cancellation or no-show of an appointment other than the current one;
    - a booking of an appointment (same id and time) whose outcome is already applied: the
      booking report is older news than the outcome, whatever clock it carries.
    """
    appointment = event.appointment_id
    if appointment is None or event.stage is Stage.COMPLETED:
        return False
    if appointment in state.replaced:
        return True
    if event.stage in _LOST_APPOINTMENT:
        return state.appointment_id is not None and appointment != state.appointment_id
    if event.stage is Stage.SCHEDULED:
        return (appointment, event.appointment_at) in state.ended
    return False


def _superseded(system: str, stage: Stage) -> str:
    return (
        f"{system} reported {stage.value} for an appointment that was already replaced "
        "by a later booking; the referral stays rebooked"
    )


def _is_other_booking(state: Folded, event: ReferralEvent) -> bool:
    return (
        event.stage is Stage.SCHEDULED
        and event.appointment_id is not None
        and state.appointment_id is not None
        and event.appointment_id != state.appointment_id
    )


def _apply(state: Folded, event: ReferralEvent) -> None:
    stage = event.stage
    state.stage = stage
    state.history.append(StageEvent(stage=stage, entered_at=event.at, system=event.system))
    if stage is Stage.SCHEDULED:
        _book(state, event)
        if "cancel_reason" in state.derived:
            state.derived["cancel_reason"] = None  # rebooked: no longer lost
    elif stage is Stage.COMPLETED:
        state.derived["completed_at"] = event.completed_at or event.at
        _end(state, event)
    elif stage in _LOST_APPOINTMENT:
        state.derived["cancel_reason"] = event.cancel_reason
        _end(state, event)
    elif stage is Stage.DECLINED and event.cancel_reason is not None:
        state.derived["cancel_reason"] = event.cancel_reason


def _reschedule(state: Folded, event: ReferralEvent) -> None:
    if state.appointment_id is not None:
        state.replaced.add(state.appointment_id)
    _book(state, event)


def _refresh(state: Folded, event: ReferralEvent) -> None:
    """A repeated report of the current stage may still move the same appointment's time."""
    if event.stage is Stage.SCHEDULED:
        _book(state, event)


def _book(state: Folded, event: ReferralEvent) -> None:
    if event.appointment_id is not None:
        state.appointment_id = event.appointment_id
    if event.parent_appointment_id is not None:
        state.replaced.add(event.parent_appointment_id)
    _set_appointment_time(state, event)


def _end(state: Folded, event: ReferralEvent) -> None:
    if event.appointment_id is not None:
        state.ended.add((event.appointment_id, event.appointment_at))
    _set_appointment_time(state, event)


def _set_appointment_time(state: Folded, event: ReferralEvent) -> None:
    if event.appointment_at is not None:
        state.derived["appointment_at"] = event.appointment_at
