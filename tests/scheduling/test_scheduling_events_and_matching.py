"""Folding stage events into a referral's stage, and matching events to referrals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.scheduling import (
    ReferralCandidate,
    ReferralIndex,
    match_event,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


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
