"""A partner's rollup folded from compact entries equals what compute() says of the partner:
on the hand-computed program of test_measures.py and on random programs (hypothesis)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapping.measures import MeasureConfig, compute
from mapping.model import (
    Attendance,
    Clinician,
    OutreachActivity,
    OutreachKind,
    Partner,
    Referral,
    Stage,
    StageEvent,
)
from mapping.rollup import Entry, entry_of, partner_rollup
from mapping.stages import OPEN_STAGES
from tests.mapping.test_measures import (
    CLINICIANS,
    DEFINITIONS,
    NOW,
    OUTREACH,
    PARTNERS,
    REFERRALS,
    D,
)

_PARTNERS = [Partner(id=f"P{i}", name=f"Practice {i}") for i in range(3)]
# C3 works nowhere: its referrals count for their own partner only
_CLINICIANS = [Clinician(id=f"C{i}", last_name="X", partner_id=f"P{i % 3}") for i in range(3)]
_CLINICIANS.append(Clinician(id="C3", last_name="Y"))


def _expected(referrals, partners, clinicians, outreach, now, config):
    """compute()'s figures per partner, with the counts taken from the referrals directly."""
    staff = {c.id: c.partner_id for c in clinicians}
    measures = compute(referrals, partners, clinicians, outreach, DEFINITIONS, now=now,
                       config=config)  # fmt: skip
    out = {}
    for pm in measures.partners:
        own = [r for r in referrals if (r.partner_id or staff.get(r.clinician_id)) == pm.partner_id]
        w = pm.windows[config.windows[0]]
        received = [r.received_at for r in own if r.received_at is not None]
        out[pm.partner_id] = (
            len(own),
            sum(r.stage is Stage.COMPLETED for r in own),
            sum(r.stage in OPEN_STAGES for r in own),
            max(received).isoformat() if received else None,
            (w.referrals, w.acceptance, w.leakage, w.to_schedule.median, w.after_outreach),
            (pm.trend, pm.status),
        )
    return out


def _folded(referrals, partners, clinicians, outreach, now, config):
    staff = {c.id: c.partner_id for c in clinicians}
    out = {}
    for p in partners:
        own = [r for r in referrals if (r.partner_id or staff.get(r.clinician_id)) == p.id]
        # entries go through their stored form (a JSON array) and back
        entries = [Entry(*list(entry_of(r, 1, DEFINITIONS))) for r in own]
        mine = [c.id for c in clinicians if c.partner_id == p.id]
        r = partner_rollup(p.id, entries, mine, outreach, now=now, config=config)
        out[p.id] = (
            r.total,
            r.completed,
            r.open,
            r.last_received,
            (r.recent, r.acceptance, r.leakage, r.to_schedule.median, r.after_outreach),
            (r.trend, r.status),
        )
    return out


def test_the_hand_computed_program_folds_to_computes_figures_in_every_window():
    for days in (2, 30, 90, 365):
        config = MeasureConfig(windows=(days,), attribution_days=30)
        args = (REFERRALS, PARTNERS, CLINICIANS, OUTREACH, D(0), config)
        assert _folded(*args) == _expected(*args)


def test_an_entry_is_what_a_rollup_reads_of_its_referral():
    r1 = entry_of(REFERRALS[0], 4, DEFINITIONS)  # R1: referred D10, scheduled D7.5, v10 target
    assert (r1.id, r1.version, r1.clinician_id, r1.stage) == ("R1", 4, "C1", "completed")
    assert (r1.to_schedule, r1.schedule_due_days, r1.flags & 2) == (2.5, 10, 0)
    assert entry_of(REFERRALS[2], 1, DEFINITIONS).schedule_due_days is None  # R3 declined
    assert entry_of(REFERRALS[6], 1, DEFINITIONS).referred_us is None  # R7 contacted only


_STAGES = [s for s in Stage if s is not Stage.CONTACTED]


@st.composite
def _referral(draw, number: int) -> Referral:
    # half days ago, so that times fall on window, target and attribution edges
    times = [12 * h for h in draw(st.lists(st.integers(-2, 80), min_size=1, max_size=5))]
    stages = draw(st.lists(st.sampled_from(list(Stage)), min_size=len(times),
                           max_size=len(times)))  # fmt: skip
    history = [StageEvent(stage=s, entered_at=NOW - timedelta(hours=h), system="t")
               for s, h in zip(stages, times, strict=True)]  # fmt: skip
    received = draw(st.sampled_from([None, "first", "other"]))
    received_at = {
        None: None,
        "first": history[0].entered_at,
        "other": NOW - timedelta(hours=12 * draw(st.integers(-2, 80))),
    }[received]
    return Referral(
        id=f"R{number}",
        referral_number=f"R{number}",
        stage=draw(st.sampled_from(list(Stage))),
        stage_history=history,
        received_at=received_at,
        partner_id=draw(st.sampled_from([None, "P0", "P1", "P2"])),
        clinician_id=draw(st.sampled_from([None, "C0", "C1", "C2", "C3"])),
        service_line=draw(st.sampled_from([None, "cardiology", "Ortho", "derm"])),
    )


@st.composite
def _outreach(draw, number: int) -> OutreachActivity:
    return OutreachActivity(
        id=f"O{number}",
        kind=OutreachKind.VISIT,
        subject="visit",
        occurred_at=NOW - timedelta(hours=12 * draw(st.integers(-4, 60))),
        partner_id=draw(st.sampled_from([None, "P0", "P1", "P2"])),
        clinician_ids=draw(st.lists(st.sampled_from(["C0", "C1", "C2", "C3"]), max_size=2)),
        attendance=draw(st.sampled_from([None, *Attendance])),
    )


@st.composite
def _program(draw):
    n = draw(st.integers(0, 25))
    referrals = [draw(_referral(i)) for i in range(n)]
    outreach = [draw(_outreach(i)) for i in range(draw(st.integers(0, 6)))]
    config = MeasureConfig(
        windows=(draw(st.sampled_from([7, 14, 30])),),
        attribution_days=draw(st.sampled_from([1, 3])),
        trend_days=draw(st.sampled_from([3, 10])),
        active_days=draw(st.sampled_from([2, 5, 30])),
    )
    return referrals, outreach, config


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_program())
def test_random_programs_fold_to_computes_figures_for_every_partner(program):
    referrals, outreach, config = program
    args = (referrals, _PARTNERS, _CLINICIANS, outreach, NOW, config)
    assert _folded(*args) == _expected(*args)


def test_referrals_on_every_edge_fold_to_computes_figures():
    """Referred exactly on (and a microsecond either side of) the window's start, the
    schedule target, the trend periods and the active days, with outreach exactly the
    attribution window before, and one at the very time of a referral."""
    tick = timedelta(microseconds=1)
    config = MeasureConfig(windows=(30,), attribution_days=3, trend_days=10, active_days=20)
    edges = [timedelta(days=d) + s * tick for d in (10, 20, 30) for s in (-1, 0, 1)]
    referrals = [
        Referral(id=f"R{i}", referral_number=f"R{i}", partner_id="P0",
                 clinician_id="C3" if i % 3 == 0 else None,
                 service_line="cardiology", received_at=NOW - ago,
                 stage_history=[StageEvent(stage="referred", entered_at=NOW - ago, system="t")])
        for i, ago in enumerate(edges)
    ]  # fmt: skip
    outreach = [
        OutreachActivity(id=f"O{i}", kind=OutreachKind.CALL, subject="call",
                         occurred_at=NOW - ago - timedelta(days=3), clinician_ids=["C3"])
        for i, ago in enumerate(edges[::3])
    ]  # fmt: skip
    outreach.append(OutreachActivity(id="O9", kind=OutreachKind.CALL, subject="call",
                                     occurred_at=NOW - edges[4], partner_id="P0"))  # fmt: skip
    args = (referrals, _PARTNERS, _CLINICIANS, outreach, NOW, config)
    folded, expected = _folded(*args), _expected(*args)
    assert folded == expected
    assert expected["P0"][4][2].denominator == 5  # 10 days and later are due; 30 - 1 us is out
