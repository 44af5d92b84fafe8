"""Every measure checked exactly on a small program computed by hand.

The fixture (times are days before NOW unless said otherwise; D(n) = NOW - n days):

definitions  Cardiology v9  respond 24h, schedule 7d, close loop 14d   (no effective date)
             Cardiology v10 respond 48h, schedule 10d, close loop 14d  (effective D(150))
             ortho v1       schedule 14d
partners     P1 (clinicians C1, C2), P2 (C3), P3, P4, P5
referrals    R1  P1 C1 cardiology  ref D10, intake D10+12h, accepted D9, scheduled D7.5,
                                   completed D2, loop closed D1; qualified
             R2  P1 C2 cardiology  ref D20, accepted D16, scheduled D5, no_show D4;
                                   incomplete (referral_order, insurance_card)
             R3  -- C1 cardiology  ref D40, declined D39; not eligible (partner via C1 = P1)
             R4  P2 C3 ortho       ref D100, accepted D99; incomplete (referral_order)
             R5  P2 C3 ortho       ref D3
             R6  P1 C1 cardiology  ref D200, accepted D199, scheduled D190, completed D180
                                   (v9 applies: referred before v10's effective date)
             R7  P1    --          contacted D5 only: never referred, so undated
             R8  P2 -- cardiology  ref D60, cancelled D50
             R9  -- -- Ortho       ref D15, scheduled D8 (no partner)
             R10 P2 C3 ortho       ref D40
outreach     O1 visit P1 [C1] D12 attended "spring-cardio"; O2 email P1 D25 "spring-cardio";
             O3 lunch [C3] D70 attended "ortho-lunch"; O4 seminar P3 D50 attended;
             O5 call P5 D200; O6 visit P1 D11 cancelled; O7 visit P2 in 5 days (future)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mapping.measures import (
    MeasureConfig,
    Rate,
    Trend,
    compute,
    percentile,
    suppress_count,
    suppress_rate,
)
from mapping.model import (
    Attendance,
    Clinician,
    OutreachActivity,
    OutreachKind,
    Partner,
    QualificationResult,
    QualifiedReferralDefinition,
    Referral,
    RelationshipStatus,
    ServiceTargets,
    StageEvent,
)

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def D(days: float) -> datetime:
    return NOW - timedelta(days=days)


DEFINITIONS = [
    QualifiedReferralDefinition(
        id="card-v9", service_line="Cardiology", version="v9",
        targets=ServiceTargets(respond_within_hours=24, schedule_within_days=7,
                               close_loop_within_days=14)),
    QualifiedReferralDefinition(
        id="card-v10", service_line="Cardiology", version="v10", effective_from=D(150).date(),
        targets=ServiceTargets(respond_within_hours=48, schedule_within_days=10,
                               close_loop_within_days=14)),
    QualifiedReferralDefinition(
        id="ortho-v1", service_line="ortho", version="v1",
        targets=ServiceTargets(schedule_within_days=14)),
]  # fmt: skip

PARTNERS = [
    Partner(id="P1", name="Northside Family Medicine"),
    Partner(id="P2", name="Lakeview Health"),
    Partner(id="P3", name="Quiet Clinic"),
    Partner(id="P4", name="New Prospect Practice"),
    Partner(id="P5", name="Cold Call Clinic"),
]
CLINICIANS = [
    Clinician(id="C1", last_name="Avery", partner_id="P1"),
    Clinician(id="C2", last_name="Brook", partner_id="P1"),
    Clinician(id="C3", last_name="Cole", partner_id="P2"),
]


def _ref(number: str, events: list[tuple[str, datetime]], **extra) -> Referral:
    history = [StageEvent(stage=s, entered_at=t, system="test") for s, t in events]
    stage = events[-1][0]
    return Referral(id=number, referral_number=number, stage=stage, stage_history=history, **extra)


def _q(status: str, *missing: str) -> QualificationResult:
    return QualificationResult(status=status, missing=[f"document:{m}" for m in missing])


REFERRALS = [
    _ref("R1", [("referred", D(10)), ("intake_received", D(10) + timedelta(hours=12)),
                ("accepted", D(9)), ("scheduled", D(7.5)),
                ("completed", D(2))],
         partner_id="P1", clinician_id="C1", service_line="cardiology", received_at=D(10),
         completed_at=D(2), loop_closed_at=D(1), qualification=_q("qualified")),
    _ref("R2", [("referred", D(20)), ("accepted", D(16)), ("scheduled", D(5)), ("no_show", D(4))],
         partner_id="P1", clinician_id="C2", service_line="cardiology", received_at=D(20),
         qualification=_q("incomplete", "referral_order", "insurance_card")),
    _ref("R3", [("referred", D(40)), ("declined", D(39))],
         clinician_id="C1", service_line="cardiology", received_at=D(40),
         qualification=QualificationResult(status="not_eligible", failed_rules=["age"])),
    _ref("R4", [("referred", D(100)), ("accepted", D(99))],
         partner_id="P2", clinician_id="C3", service_line="ortho", received_at=D(100),
         qualification=_q("incomplete", "referral_order")),
    _ref("R5", [("referred", D(3))],
         partner_id="P2", clinician_id="C3", service_line="ortho", received_at=D(3)),
    _ref("R6", [("referred", D(200)), ("accepted", D(199)), ("scheduled", D(190)),
                ("completed", D(180))],
         partner_id="P1", clinician_id="C1", service_line="cardiology", received_at=D(200),
         completed_at=D(180)),
    _ref("R7", [("contacted", D(5))], partner_id="P1"),
    _ref("R8", [("referred", D(60)), ("cancelled", D(50))],
         partner_id="P2", service_line="cardiology", received_at=D(60)),
    _ref("R9", [("referred", D(15)), ("scheduled", D(8))], service_line="Ortho", received_at=D(15)),
    _ref("R10", [("referred", D(40))],
         partner_id="P2", clinician_id="C3", service_line="ortho", received_at=D(40)),
]  # fmt: skip


def _out(id: str, kind: str, at: datetime, **extra) -> OutreachActivity:
    return OutreachActivity(id=id, kind=OutreachKind(kind), occurred_at=at, subject=id, **extra)


OUTREACH = [
    _out("O1", "visit", D(12), partner_id="P1", clinician_ids=["C1"],
         attendance=Attendance.ATTENDED, campaign="spring-cardio"),
    _out("O2", "email", D(25), partner_id="P1", campaign="spring-cardio"),
    _out("O3", "lunch_and_learn", D(70), clinician_ids=["C3"], attendance=Attendance.ATTENDED,
         campaign="ortho-lunch"),
    _out("O4", "seminar", D(50), partner_id="P3", attendance=Attendance.ATTENDED),
    _out("O5", "call", D(200), partner_id="P5"),
    _out("O6", "visit", D(11), partner_id="P1", attendance=Attendance.CANCELLED),
    _out("O7", "visit", NOW + timedelta(days=5), partner_id="P2", attendance=Attendance.PLANNED),
]  # fmt: skip

CONFIG = MeasureConfig(windows=(2, 30, 90, 365), attribution_days=30)


@pytest.fixture(scope="module")
def program():
    return compute(REFERRALS, PARTNERS, CLINICIANS, OUTREACH, DEFINITIONS, now=NOW, config=CONFIG)


def test_percentiles_interpolate_between_closest_ranks_like_excel_percentile_inc():
    assert percentile([], 50) is None
    assert percentile([4.0], 90) == 4.0
    assert percentile([8.0, 20.0], 50) == 14.0
    assert percentile([8.0, 20.0], 90) == pytest.approx(18.8)  # 8 + 0.9 * 12
    assert percentile([15.0, 2.5, 7.0], 90) == pytest.approx(13.4)  # h = 1.8: 7 + 0.8 * 8
    assert percentile([2.5, 7.0, 10.0, 15.0], 50) == pytest.approx(8.5)


def test_an_empty_window_counts_nothing_and_has_no_rates_or_percentiles(program):
    w = program.windows[2]
    assert (w.referrals, w.by_stage, w.missing_documents, w.after_outreach) == (0, {}, {}, 0)
    assert w.acceptance.value is None and w.leakage.value is None and w.no_show.value is None
    assert w.to_schedule.count == 0 and w.to_schedule.median is None and w.to_schedule.p90 is None
    assert all(r == Rate(0, 0) for r in w.sla_breaches.values())


def test_the_30_day_window_is_counted_exactly(program):
    w = program.windows[30]  # R1, R2, R5, R9
    assert w.referrals == 4
    assert w.by_stage == {"completed": 1, "no_show": 1, "referred": 1, "scheduled": 1}
    assert w.funnel == {"referred": 4, "intake_received": 3, "accepted": 3, "scheduled": 3,
                        "completed": 1}  # fmt: skip
    assert w.acceptance == Rate(3, 3)  # R1, R2, R9 accepted or later; R5 undecided
    assert w.complete_first == Rate(1, 2)  # R1 qualified, R2 incomplete
    assert w.missing_documents == {"insurance_card": 1, "referral_order": 1}
    assert w.to_schedule.values == (2.5, 7.0, 15.0)
    assert w.to_schedule.median == 7.0 and w.to_schedule.p90 == pytest.approx(13.4)
    assert w.to_complete.values == (8.0,) and w.to_complete.median == w.to_complete.p90 == 8.0
    assert w.leakage == Rate(0, 3)  # R1, R2, R9 due and scheduled; R5 not due yet
    assert w.no_show == Rate(1, 3)
    assert w.loop_closure == Rate(1, 1)  # R1 closed one day after completion
    assert w.sla_breaches == {
        "respond": Rate(1, 2),  # R1 answered in 12h; R2 in 96h > 48h
        "schedule": Rate(1, 3),  # R2 took 15d > 10d
        "close_loop": Rate(0, 1),
    }
    assert w.after_outreach == 2  # R1 (O1, O2), R2 (O2)


def test_the_90_day_window_adds_declined_cancelled_and_leaked_referrals(program):
    w = program.windows[90]  # + R3, R8, R10
    assert w.referrals == 7
    assert w.by_stage == {"cancelled": 1, "completed": 1, "declined": 1, "no_show": 1,
                          "referred": 2, "scheduled": 1}  # fmt: skip
    assert w.funnel == {"referred": 7, "intake_received": 3, "accepted": 3, "scheduled": 3,
                        "completed": 1}  # fmt: skip
    assert w.acceptance == Rate(3, 4)
    assert w.complete_first == Rate(1, 3)
    assert w.leakage == Rate(2, 5)  # R8 cancelled, R10 never scheduled; R3 declined is not due
    assert w.sla_breaches == {
        "respond": Rate(2, 4),  # R3 declined within 24h; R8 cancelled after 10 days
        "schedule": Rate(3, 5),
        "close_loop": Rate(0, 1),
    }
    assert w.after_outreach == 3  # R10: O3 exactly 30 days before still counts


def test_the_365_day_window_uses_the_definition_in_effect_when_referred(program):
    w = program.windows[365]  # + R4, R6
    assert w.referrals == 9
    assert w.acceptance == Rate(5, 6)
    assert w.complete_first == Rate(1, 4)
    assert w.missing_documents == {"referral_order": 2, "insurance_card": 1}
    assert w.to_schedule.values == (2.5, 7.0, 10.0, 15.0)
    assert w.to_schedule.median == pytest.approx(8.5)
    assert w.to_schedule.p90 == pytest.approx(13.5)  # h = 2.7: 10 + 0.7 * 5
    assert w.to_complete.values == (8.0, 20.0)
    assert w.to_complete.median == 14.0 and w.to_complete.p90 == pytest.approx(18.8)
    assert w.leakage == Rate(3, 7)  # R4 never scheduled; R6 (v9: 7d) scheduled late, no leak
    assert w.no_show == Rate(1, 4)
    assert w.loop_closure == Rate(1, 2)  # R6's loop never closed
    assert w.sla_breaches == {
        "respond": Rate(2, 5),  # R6 answered in exactly 24h: not a breach
        "schedule": Rate(5, 7),
        "close_loop": Rate(1, 2),
    }


def test_undated_and_partnerless_referrals_are_counted_not_dropped(program):
    assert program.undated == 1  # R7
    assert program.without_partner == 1  # R9


def test_service_lines_group_case_insensitively(program):
    assert sorted(program.by_service_line) == ["cardiology", "ortho"]
    ortho = program.by_service_line["ortho"][365]  # R4, R5, R9 ("Ortho"), R10
    assert ortho.referrals == 4
    assert ortho.leakage == Rate(2, 3)


def test_partner_measures_follow_their_referrals_and_clinicians(program):
    p1, p2 = program.partners[:2]
    assert [p1.windows[d].referrals for d in (2, 30, 90, 365)] == [0, 2, 3, 4]  # R3 via C1
    assert p1.windows[90].acceptance == Rate(2, 3)
    assert list(p1.by_service_line) == ["cardiology"]
    assert p1.days_since_outreach == 12  # O1; O6 was cancelled
    assert (p1.trend, p1.status) == (Trend.GROWING, RelationshipStatus.ACTIVE)
    assert sorted(p2.by_service_line) == ["cardiology", "ortho"]
    assert p2.windows[365].leakage == Rate(3, 3)  # R4, R8, R10; R5 not due
    assert p2.days_since_outreach == 70  # O3 reached C3; O7 lies in the future
    assert (p2.trend, p2.status) == (Trend.GROWING, RelationshipStatus.ACTIVE)  # 3 vs 1


def test_partners_without_referrals_get_empty_measures_and_an_outreach_status(program):
    _, _, p3, p4, p5 = program.partners
    assert p3.windows[365].referrals == 0 and p3.windows[365].acceptance.value is None
    assert (p3.trend, p3.status, p3.days_since_outreach) == (
        Trend.NONE, RelationshipStatus.ENGAGED, 50)  # fmt: skip
    assert (p4.status, p4.days_since_outreach) == (RelationshipStatus.PROSPECT, None)
    assert (p5.status, p5.days_since_outreach) == (RelationshipStatus.CONTACTED, 200)


def test_outreach_is_credited_by_last_touch_and_any_touch(program):
    by_id = {a.key: (a.last_touch, a.any_touch, a.completed_after) for a in program.outreach}
    assert by_id == {"O1": (1, 1, 1), "O2": (1, 2, 1), "O3": (1, 1, 0)}
    by_campaign = {a.key: (a.last_touch, a.any_touch, a.completed_after) for a in program.campaigns}
    assert by_campaign == {"ortho-lunch": (1, 1, 0), "spring-cardio": (2, 2, 1)}


def test_a_shorter_attribution_window_credits_fewer_referrals():
    config = MeasureConfig(windows=(90,), attribution_days=10)
    m = compute(REFERRALS, PARTNERS, CLINICIANS, OUTREACH, DEFINITIONS, now=NOW, config=config)
    assert m.windows[90].after_outreach == 2  # R1 (O1, two days before) and R2 (O2, five)
    assert {a.key: a.any_touch for a in m.outreach} == {"O1": 1, "O2": 1}


@pytest.mark.parametrize(
    ("days_ago", "trend", "status"),
    [
        ([5], Trend.NEW, RelationshipStatus.ACTIVE),
        ([120, 100, 50], Trend.DECLINING, RelationshipStatus.ACTIVE),  # 1 now vs 2 before
        ([300], Trend.LAPSED, RelationshipStatus.DORMANT),
        ([10, 100], Trend.STEADY, RelationshipStatus.ACTIVE),
        ([10, 20, 100], Trend.GROWING, RelationshipStatus.ACTIVE),  # 2 > 1 * 1.2
        ([10, 20, 30, 40, 100, 110, 120, 130, 140], Trend.STEADY, RelationshipStatus.ACTIVE),
    ],
)
def test_trend_compares_the_last_90_days_with_the_90_before(days_ago, trend, status):
    refs = [
        _ref(f"T{i}", [("referred", D(d))], partner_id="P1", received_at=D(d))
        for i, d in enumerate(days_ago)
    ]
    m = compute(refs, PARTNERS[:1], [], [], [], now=NOW)
    assert (m.partners[0].trend, m.partners[0].status) == (trend, status)


def test_small_counts_and_the_rates_that_would_reveal_them_are_suppressed():
    assert [suppress_count(n) for n in (0, 1, 10, 11, 250)] == [0, None, None, 11, 250]
    assert suppress_rate(Rate(3, 4)) is None
    assert suppress_rate(Rate(11, 22)) == 0.5
    assert suppress_rate(Rate(0, 11)) == 0.0
    assert suppress_rate(Rate(11, 12)) is None  # the one left out would be revealed
    assert suppress_rate(Rate(0, 0)) is None  # nothing to show
    assert suppress_count(3, threshold=3) == 3 and suppress_count(2, threshold=3) is None
