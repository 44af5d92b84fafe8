"""Folding stage events into a referral's stage, and matching events to referrals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scheduling_support import FIXTURES, read_all

from connectors.scheduling import (
    ReferralCandidate,
    ReferralIndex,
    StageEvidence,
    effective_stage,
    evidence_from_fields,
    match_event,
)
from connectors.scheduling.events import transition_applies
from mapping.model import Stage

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def ev(stage: str, day: int, appt_day: int | None = None, eid: str = "") -> StageEvidence:
    appt = T0 + timedelta(days=appt_day) if appt_day is not None else None
    return StageEvidence(Stage(stage), T0 + timedelta(days=day), eid or f"{stage}{day}", appt)


def stage_of(*events: StageEvidence, current: StageEvidence | None = None) -> str | None:
    result = effective_stage(events, current)
    return result.stage.value if result else None


def test_newer_event_wins_whatever_the_order_the_files_arrive_in():
    events = [ev("scheduled", 1), ev("completed", 5)]
    assert stage_of(*events) == "completed"
    assert stage_of(*reversed(events)) == "completed"


def test_an_older_event_never_overrides_a_newer_one():
    assert stage_of(ev("cancelled", 3), current=ev("scheduled", 4)) == "scheduled"
    assert stage_of(ev("scheduled", 1), current=ev("no_show", 4)) == "no_show"


def test_cancellation_and_no_show_after_scheduling_are_applied():
    assert stage_of(ev("scheduled", 1), ev("cancelled", 2)) == "cancelled"
    assert stage_of(ev("scheduled", 1), ev("no_show", 9)) == "no_show"


def test_reschedule_after_a_no_show_is_applied():
    assert stage_of(ev("scheduled", 1), ev("no_show", 9), ev("scheduled", 10)) == "scheduled"
    assert stage_of(ev("scheduled", 10), current=ev("no_show", 9)) == "scheduled"


def test_completed_is_final_and_nothing_goes_back_before_scheduling():
    assert stage_of(ev("completed", 5), ev("scheduled", 6), ev("cancelled", 7)) == "completed"
    assert stage_of(ev("scheduled", 2), ev("referred", 3), ev("accepted", 4)) == "scheduled"
    assert stage_of(ev("accepted", 2), ev("declined", 3)) == "declined"
    assert stage_of(ev("scheduled", 2), ev("declined", 3)) == "scheduled"


def test_replaying_the_same_events_changes_nothing():
    events = [ev("scheduled", 1), ev("no_show", 9), ev("scheduled", 10)]
    first = effective_stage(events)
    assert effective_stage(events + events, current=first) == first
    assert effective_stage(events, current=first) == first


def test_fold_is_deterministic_for_any_order():
    events = [ev("accepted", 0), ev("scheduled", 1), ev("cancelled", 2), ev("scheduled", 3),
              ev("no_show", 8), ev("scheduled", 9), ev("completed", 12)]  # fmt: skip
    rng = random.Random(7)
    for _ in range(20):
        rng.shuffle(events)
        assert effective_stage(events) == ev("completed", 12)


def test_cancel_and_rebook_in_one_snapshot_leaves_the_referral_scheduled():
    # both rows share the file's time; the later appointment is the current one
    old = ev("cancelled", 3, appt_day=5, eid="a1")
    new = ev("scheduled", 3, appt_day=9, eid="a2")
    assert stage_of(old, new) == "scheduled"
    assert stage_of(new, old) == "scheduled"


def test_the_entered_time_is_the_first_event_of_the_current_stage():
    result = effective_stage([ev("scheduled", 1), ev("scheduled", 4)])
    assert result == ev("scheduled", 1)


@pytest.mark.parametrize(
    ("current", "new", "applies"),
    [
        (None, "scheduled", True),
        ("accepted", "scheduled", True),
        ("scheduled", "scheduled", False),
        ("cancelled", "scheduled", True),
        ("completed", "no_show", False),
        ("declined", "scheduled", False),
        ("referred", "intake_received", True),
        ("intake_received", "referred", False),
    ],
)
def test_transition_rules(current, new, applies):
    assert transition_applies(Stage(current) if current else None, Stage(new)) is applies


def test_events_of_a_real_export_fold_per_referral():
    result = read_all(FIXTURES / "fhir_appointments.ndjson", format="fhir")
    folded = effective_stage(evidence_from_fields(r.id, r.fields) for r in result.records)
    assert folded is not None and folded.stage is Stage.SCHEDULED  # rebooked after the no-show
    assert folded.event_id.startswith("fhir:Appointment/appt-2002")


# -- matching ---------------------------------------------------------------------------

CANDIDATES = [
    ReferralCandidate("ref_a", "R-1001", patient_key="v1:p1", service_line="cardiology",
                      anchor_at=T0),
    ReferralCandidate("ref_b", "R-1002", authorization_numbers=("AUTH-9",), patient_key="v1:p2",
                      service_line="cardiology", anchor_at=T0),
    ReferralCandidate("ref_c", "R-2001", patient_key="v1:p2", service_line="orthopedics",
                      anchor_at=T0 + timedelta(days=20)),
    ReferralCandidate("ref_d", "R-2002", patient_key="v1:p2", service_line="cardiology",
                      anchor_at=T0 + timedelta(days=60)),
]  # fmt: skip


def test_referral_number_matches_first_case_and_space_insensitive():
    result = match_event({"referral_number": " r-1001 ", "patient_key": "v1:p2"}, CANDIDATES)
    assert (result.referral_id, result.method) == ("ref_a", "referral_number")


def test_authorization_number_matches_when_there_is_no_referral_number():
    result = match_event({"authorization_number": "AUTH-9"}, CANDIDATES)
    assert (result.referral_id, result.method) == ("ref_b", "authorization_number")


def test_patient_key_matches_within_the_service_line_and_date_window():
    index = ReferralIndex(CANDIDATES, window_days=30)
    event = {"patient_key": "v1:p2", "service_line": "cardiology",
             "appointment_at": T0 + timedelta(days=10)}  # fmt: skip
    assert index.match(event).referral_id == "ref_b"
    ortho = {**event, "service_line": "orthopedics", "appointment_at": T0 + timedelta(days=25)}
    assert index.match(ortho).referral_id == "ref_c"
    later = {**event, "appointment_at": T0 + timedelta(days=70)}
    assert index.match(later).referral_id == "ref_d"


def test_an_unknown_referral_number_falls_back_to_the_patient_key():
    event = {"referral_number": "R-404", "patient_key": "v1:p1", "service_line": "cardiology",
             "appointment_at": T0 + timedelta(days=3)}  # fmt: skip
    assert match_event(event, CANDIDATES).method == "patient_key"


def test_outside_the_window_or_ambiguous_is_unmatched_with_a_reason():
    far = {"patient_key": "v1:p1", "appointment_at": T0 + timedelta(days=200)}
    result = match_event(far, CANDIDATES, window_days=30)
    assert not result.matched and "window" in result.reason
    twins = [ReferralCandidate("x1", None, patient_key="v1:p9", anchor_at=T0),
             ReferralCandidate("x2", None, patient_key="v1:p9", anchor_at=T0)]  # fmt: skip
    tie = match_event({"patient_key": "v1:p9", "event_at": T0 + timedelta(days=1)}, twins)
    assert not tie.matched and "equally" in tie.reason
    dup = [ReferralCandidate("y1", "R-7"), ReferralCandidate("y2", "r-7")]
    assert "2 referrals" in match_event({"referral_number": "R-7"}, dup).reason


def test_an_event_with_nothing_to_match_on_is_unmatched():
    result = match_event({"appointment_at": T0}, CANDIDATES)
    assert not result.matched and result.reason


# -- properties -------------------------------------------------------------------------


_events = st.lists(
    st.builds(
        ev,
        st.sampled_from([s.value for s in Stage]),
        st.integers(0, 30),
        st.one_of(st.none(), st.integers(0, 40)),
    ),
    max_size=12,
)


@given(_events, st.randoms(use_true_random=False))
def test_the_fold_ignores_arrival_order_and_replays(events, rnd):
    expected = effective_stage(events)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert effective_stage(shuffled) == expected
    assert effective_stage(shuffled, current=expected) == expected  # replay: no-op


@given(_events, st.integers(0, 12))
def test_folding_files_run_by_run_equals_folding_them_at_once(events, cut):
    # the engine keeps only the current stage between runs; files arriving in time order,
    # however they are split into runs, must end where one fold over everything ends
    ordered = sorted(events, key=lambda e: (e.at, e.appointment_at or T0, e.event_id))
    first, second = ordered[:cut], ordered[cut:]
    assert effective_stage(second, current=effective_stage(first)) == effective_stage(ordered)


@given(_events, _events)
def test_an_older_batch_never_changes_a_newer_result(newer, older):
    current = effective_stage(newer)
    if current is None:
        return
    stale = [e for e in older if e.at < current.at]
    assert effective_stage(stale, current=current) == current
