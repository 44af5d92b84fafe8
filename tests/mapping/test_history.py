"""A referral's stage is a pure fold of its event log (issue 10)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mapping.history import Decision, fold_events
from mapping.model import ReferralEvent, Stage
from mapping.stages import StageRules

S = Stage
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
EPIC = "epic"
RULES = StageRules(owners={s: EPIC for s in (S.SCHEDULED, S.COMPLETED, S.CANCELLED, S.NO_SHOW)})


def ev(
    stage: Stage,
    hours: float,
    appt: str | None = None,
    *,
    system: str = EPIC,
    appt_at: float | None = None,
    parent: str | None = None,
    line: int = 1,
    reason: str | None = None,
) -> ReferralEvent:
    return ReferralEvent(
        id=f"{system}:{stage.value}:{appt}:{hours}:{line}",
        system=system,
        stage=stage,
        at=T0 + timedelta(hours=hours),
        appointment_id=appt,
        parent_appointment_id=parent,
        appointment_at=T0 + timedelta(hours=appt_at) if appt_at is not None else None,
        cancel_reason=reason,
        source=f"export.csv:{line}",
    )


def stage_of(*events: ReferralEvent) -> Stage | None:
    return fold_events(events, RULES).stage


def test_events_are_applied_in_time_order_whatever_order_they_arrive_in():
    events = [ev(S.SCHEDULED, 1, "A"), ev(S.NO_SHOW, 30, "A"), ev(S.SCHEDULED, 40, "B")]
    for order in (events, events[::-1], [events[1], events[2], events[0]]):
        folded = fold_events(order, RULES)
        assert folded.stage is S.SCHEDULED
        assert [h.stage for h in folded.history] == [S.SCHEDULED, S.NO_SHOW, S.SCHEDULED]


def test_a_later_no_show_is_applied_even_when_its_row_comes_first():
    assert stage_of(ev(S.NO_SHOW, 48, "A"), ev(S.SCHEDULED, 2, "A")) is S.NO_SHOW


def test_completion_and_booking_at_the_same_minute_end_completed():
    assert stage_of(ev(S.COMPLETED, 5, "A", line=1), ev(S.SCHEDULED, 5, "A", line=2)) is (
        S.COMPLETED
    )


def test_a_completed_referral_moved_back_to_scheduled_is_refused_and_named():
    folded = fold_events(
        [ev(S.COMPLETED, 10, "A", line=7), ev(S.SCHEDULED, 20, "B", line=9)], RULES
    )
    assert folded.stage is S.COMPLETED
    outcome = folded.outcomes[ev(S.SCHEDULED, 20, "B", line=9).id]
    assert outcome.decision is Decision.REFUSED
    assert "back from completed to scheduled" in outcome.reason


def test_a_cancelled_appointment_replaced_by_a_new_one_is_a_reschedule_not_a_loss():
    # athena: the new appointment names the cancelled one as its parent
    cancel_a = ev(S.CANCELLED, 30, "A", appt_at=50, reason="Patient request")
    book_b = ev(S.SCHEDULED, 20, "B", appt_at=70, parent="A")
    folded = fold_events([cancel_a, book_b, ev(S.SCHEDULED, 1, "A", appt_at=50)], RULES)
    assert folded.stage is S.SCHEDULED
    assert folded.outcomes[cancel_a.id].decision is Decision.SUPERSEDED
    assert folded.outcomes[book_b.id].decision is Decision.RESCHEDULED
    assert folded.derived["appointment_at"] == T0 + timedelta(hours=70)


def test_a_booking_row_without_its_own_time_never_undoes_its_appointments_outcome():
    # the booking's clock fell back to the appointment time, after the cancellation
    cancel = ev(S.CANCELLED, 10, "A", appt_at=50, reason="Provider unavailable")
    booking = ev(S.SCHEDULED, 50, "A", appt_at=50)
    folded = fold_events([booking, cancel], RULES)
    assert folded.stage is S.CANCELLED
    assert folded.outcomes[booking.id].decision is Decision.SUPERSEDED
    assert folded.derived["cancel_reason"] == "Provider unavailable"


def test_a_no_show_then_a_new_booking_moves_no_show_back_to_scheduled():
    folded = fold_events(
        [ev(S.SCHEDULED, 1, "A"), ev(S.NO_SHOW, 30, "A"), ev(S.SCHEDULED, 31, "C")], RULES
    )
    assert [h.stage for h in folded.history][-2:] == [S.NO_SHOW, S.SCHEDULED]
    assert folded.derived["cancel_reason"] is None


def test_a_non_owner_moving_an_owned_stage_is_a_conflict_not_a_refusal():
    crm = ev(S.COMPLETED, 9, system="hubspot")
    folded = fold_events([ev(S.SCHEDULED, 1, "A"), crm], RULES)
    assert folded.stage is S.SCHEDULED
    assert folded.outcomes[crm.id].decision is Decision.CONFLICT
    assert folded.outcomes[crm.id].owner == EPIC


def test_intake_stages_nobody_owns_move_forward_from_any_system():
    folded = fold_events(
        [ev(S.REFERRED, 0, system="salesforce"), ev(S.ACCEPTED, 2, system="salesforce")], RULES
    )
    assert folded.stage is S.ACCEPTED


def test_a_refused_event_changes_no_derived_field():
    done = ev(S.COMPLETED, 10, "A", appt_at=10)
    late_no_show = ev(S.NO_SHOW, 12, "A", appt_at=3)
    folded = fold_events([done, late_no_show], RULES)
    assert folded.stage is S.COMPLETED
    assert folded.derived["appointment_at"] == T0 + timedelta(hours=10)
    assert "cancel_reason" not in folded.derived


def test_equal_events_are_counted_once():
    event = ev(S.SCHEDULED, 1, "A")
    folded = fold_events([event, event, event], RULES)
    assert len(folded.history) == 1 and len(folded.outcomes) == 1


# -- an independent reference: the expected stage of one appointment chain, by hand -------


def _reference(events: list[ReferralEvent]) -> Stage | None:
    """Single-appointment logs: the last event by (time, lifecycle rank) that the machine
    allows, computed without the code under test (no ownership in play: one system)."""
    rank = {S.SCHEDULED: 0, S.CANCELLED: 1, S.NO_SHOW: 2, S.COMPLETED: 3}
    stage: Stage | None = None
    for e in sorted(events, key=lambda e: (e.at, rank[e.stage], e.source or "", e.id)):
        if stage is None or stage is e.stage:
            stage = e.stage
        elif stage is S.COMPLETED:
            continue  # terminal
        elif e.stage is S.SCHEDULED:
            stage = e.stage  # rebooked (cancelled/no_show -> scheduled is allowed)
        elif e.stage is S.NO_SHOW and stage is not S.SCHEDULED:
            continue  # no_show only from scheduled
        elif stage in (S.CANCELLED, S.NO_SHOW):
            continue  # lost is terminal: only a rebooking (above) leaves it
        else:
            stage = e.stage
    return stage


_chain = st.lists(
    st.builds(
        lambda stage, hours, line: ev(stage, hours, None, line=line),
        st.sampled_from([S.SCHEDULED, S.CANCELLED, S.NO_SHOW, S.COMPLETED]),
        st.integers(0, 20),
        st.integers(1, 50),
    ),
    max_size=10,
)


@settings(deadline=None)
@given(_chain)
def test_the_fold_agrees_with_a_reference_fold_written_by_hand(events):
    assert stage_of(*events) == _reference(events)


_anything = st.lists(
    st.builds(
        ev,
        st.sampled_from(list(Stage)),
        st.integers(0, 30),
        st.sampled_from([None, "A", "B", "C"]),
        system=st.sampled_from([EPIC, "salesforce", "hubspot"]),
        appt_at=st.one_of(st.none(), st.integers(0, 60)),
        parent=st.sampled_from([None, "A", "B"]),
        line=st.integers(1, 9),
    ),
    max_size=12,
)


@settings(deadline=None)
@given(_anything, st.randoms(use_true_random=False), st.integers(0, 12))
def test_shuffling_splitting_and_replaying_the_log_give_the_same_state(events, rnd, cut):
    expected = fold_events(events, RULES)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    again = fold_events(shuffled[:cut] + shuffled + shuffled[cut:], RULES)
    assert (again.stage, again.history, again.derived) == (
        expected.stage,
        expected.history,
        expected.derived,
    )
    assert again.outcomes == expected.outcomes


def test_a_thousand_random_orders_of_a_real_chain_agree():
    chain = [
        ev(S.SCHEDULED, 1, "A", appt_at=48, line=2),
        ev(S.CANCELLED, 20, "A", appt_at=48, line=3, reason="Patient request"),
        ev(S.SCHEDULED, 21, "B", appt_at=96, parent="A", line=4),
        ev(S.NO_SHOW, 96, "B", appt_at=96, line=5),
        ev(S.SCHEDULED, 100, "C", appt_at=150, line=6),
        ev(S.COMPLETED, 151, "C", appt_at=150, line=7),
    ]
    rnd = random.Random(7)
    for _ in range(1000):
        rnd.shuffle(chain)
        folded = fold_events(chain, RULES)
        assert folded.stage is S.COMPLETED
        assert [h.stage for h in folded.history] == [
            S.SCHEDULED, S.CANCELLED, S.SCHEDULED, S.NO_SHOW, S.SCHEDULED, S.COMPLETED,
        ]  # fmt: skip


def test_an_outcome_of_a_new_appointment_after_a_lost_one_implies_its_booking():
    # athena lists each appointment once: the rebooked visit shows only "3 - Checked Out"
    cancelled = ev(S.CANCELLED, 24, "A", appt_at=48)
    seen = ev(S.COMPLETED, 200, "B", appt_at=199)
    folded = fold_events([seen, cancelled], RULES)
    assert [h.stage for h in folded.history] == [S.CANCELLED, S.SCHEDULED, S.COMPLETED]
    assert folded.outcomes[f"{seen.id}#booking"].decision is Decision.APPLIED
    assert folded.outcomes[seen.id].decision is Decision.APPLIED
    assert folded.history[1].entered_at == T0 + timedelta(hours=199)
