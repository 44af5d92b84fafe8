"""The report's tables on the hand-computed program of tests/mapping/test_measures.py:
the same numbers, with small counts and the rates and times that would reveal them hidden."""

from __future__ import annotations

from sync.insights import ProgramData, build_tables
from tests.mapping.test_measures import (
    CLINICIANS,
    DEFINITIONS,
    NOW,
    OUTREACH,
    PARTNERS,
    REFERRALS,
)

DATA = ProgramData(REFERRALS, PARTNERS, CLINICIANS, OUTREACH, DEFINITIONS, errors=[])


def _summary(threshold: int) -> dict[str, object]:
    _, tables = build_tables(DATA, now=NOW, days=365, threshold=threshold)
    return {r["measure"]: r["value"] for r in tables["summary"].rows}


def test_with_the_cms_threshold_every_small_count_is_hidden_and_zero_is_shown():
    _, tables = build_tables(DATA, now=NOW, days=365, threshold=11)
    assert _summary(11)["referrals"] == "<11"
    assert {r["referrals"] for r in tables["funnel"].rows} == {"<11"}
    assert {r["share_of_referred"] for r in tables["funnel"].rows} == {"suppressed"}
    quiet = next(r for r in tables["scorecard"].rows if r["partner"] == "Quiet Clinic")
    assert (quiet["referrals"], quiet["acceptance_rate"], quiet["status"]) == (0, None, "engaged")


def test_a_lower_threshold_shows_the_hand_computed_figures():
    summary = _summary(3)
    assert summary["referrals"] == 9
    assert summary["acceptance rate %"] == "suppressed"  # 5 of 6: the one declined shows
    assert summary["leakage %"] == 42.9  # 3 of 7
    assert summary["median days to schedule"] == 8.5  # 2.5, 7, 10, 15
    assert summary["90th percentile days to schedule"] == 13.5
    assert summary["median days to complete"] == "suppressed"  # only two completed


def test_data_quality_lists_missing_documents_and_records_without_date_or_partner():
    _, tables = build_tables(DATA, now=NOW, days=365, threshold=1)
    rows = {(r["problem"], r["item"]): r["count"] for r in tables["data_quality"].rows}
    assert rows == {
        ("incomplete referral", "missing referral_order"): 2,
        ("incomplete referral", "missing insurance_card"): 1,
        ("referral without a date", "no received_at or stage event"): 1,
        ("referral without a partner", "no partner or clinician's partner"): 1,
    }


def test_the_scorecard_orders_partners_by_volume():
    _, tables = build_tables(DATA, now=NOW, days=365, threshold=1)
    assert [(r["partner"], r["referrals"]) for r in tables["scorecard"].rows] == [
        ("Lakeview Health", 4), ("Northside Family Medicine", 4), ("Cold Call Clinic", 0),
        ("New Prospect Practice", 0), ("Quiet Clinic", 0),
    ]  # fmt: skip


def test_partners_are_broken_down_by_service_line():
    _, tables = build_tables(DATA, now=NOW, days=365, threshold=1)
    rows = {(r["partner"], r["service_line"]): (r["referrals"], r["leakage_rate"])
            for r in tables["partner_service_lines"].rows}  # fmt: skip
    assert rows == {
        ("Lakeview Health", "cardiology"): (1, 100.0),  # R8 cancelled, never scheduled
        ("Lakeview Health", "ortho"): (3, 100.0),  # R4 and R10 leaked; R5 not due yet
        ("Northside Family Medicine", "cardiology"): (4, 0.0),  # R3 declined: not due
    }


def test_campaigns_are_credited_with_the_referrals_after_their_outreach():
    _, tables = build_tables(DATA, now=NOW, days=365, threshold=1)
    assert tables["campaigns"].rows == [
        {"campaign": "spring-cardio", "referrals_last_touch": 2, "referrals_any_touch": 2,
         "completed_after": 1},
        {"campaign": "ortho-lunch", "referrals_last_touch": 1, "referrals_any_touch": 1,
         "completed_after": 0},
    ]  # fmt: skip


def test_each_outreach_activity_is_credited_with_the_referrals_after_it_by_day_kind_and_partner():
    # R1 (referred D10) follows O1 (D12) and O2 (D25); R2 (D20) follows O2; R10 (D40)
    # follows O3 (D70, to clinician C3); only R1 completed
    _, tables = build_tables(DATA, now=NOW, days=365, threshold=1)
    assert tables["outreach"].rows == [
        {"date": "2026-06-05", "kind": "email", "partner": "Northside Family Medicine",
         "campaign": "spring-cardio", "referrals_last_touch": 1, "referrals_any_touch": 2,
         "completed_after": 1},
        {"date": "2026-06-18", "kind": "visit", "partner": "Northside Family Medicine",
         "campaign": "spring-cardio", "referrals_last_touch": 1, "referrals_any_touch": 1,
         "completed_after": 1},
        {"date": "2026-04-21", "kind": "lunch_and_learn", "partner": "(none)",
         "campaign": "ortho-lunch", "referrals_last_touch": 1, "referrals_any_touch": 1,
         "completed_after": 0},
    ]  # fmt: skip
    _, hidden = build_tables(DATA, now=NOW, days=365, threshold=11)
    assert {r["referrals_any_touch"] for r in hidden["outreach"].rows} == {"<11"}


def test_a_ten_day_attribution_window_credits_only_the_outreach_ten_days_before():
    from sync.insights.attribution import measure_config

    config = measure_config(None, windows=(365,), attribution_days=10)
    _, tables = build_tables(DATA, now=NOW, days=365, threshold=1, config=config)
    # R1 (D10) now follows only O1 (D12); R2 (D20) only O2 (D25); R10's O3 is 30 days before
    got = {r["date"]: (r["referrals_last_touch"], r["referrals_any_touch"], r["completed_after"])
           for r in tables["outreach"].rows}  # fmt: skip
    assert got == {"2026-06-18": (1, 1, 1), "2026-06-05": (1, 1, 0)}
    assert "within 10 days" in tables["outreach"].title


def test_data_quality_counts_referrals_whose_referrer_nobody_knows():
    from dataclasses import replace

    waiting = [r.model_copy(update={"referring_npi": "1245319599", "clinician_id": None})
               for r in REFERRALS[:3]]  # fmt: skip
    data = replace(DATA, referrals=[*waiting, *REFERRALS[3:]])
    _, tables = build_tables(data, now=NOW, days=365, threshold=1)
    [row] = [r for r in tables["data_quality"].rows if r["problem"] == "unresolved referrer"]
    assert row == {"problem": "unresolved referrer",
                   "item": "1 referring NPIs no clinician holds (new-referrers.csv)",
                   "count": 3}  # fmt: skip
    _, hidden = build_tables(data, now=NOW, days=365, threshold=11)
    assert [r["count"] for r in hidden["data_quality"].rows
            if r["problem"] == "unresolved referrer"] == ["<11"]  # fmt: skip


def test_data_quality_puts_the_npis_a_prospect_holds_on_a_line_of_their_own():
    from dataclasses import replace

    from mapping.model import Clinician

    prospect = Clinician(id="cli_p", last_name="Zimmer", npi="1245319599", prospect=True)
    waiting = [r.model_copy(update={"referring_npi": npi, "clinician_id": None})
               for r, npi in zip(REFERRALS[:3], ("1245319599", "1245319599", "1003000126"))]  # fmt: skip
    data = replace(DATA, referrals=[*waiting, *REFERRALS[3:]],
                   clinicians=[*DATA.clinicians, prospect])  # fmt: skip
    _, tables = build_tables(data, now=NOW, days=365, threshold=1)
    rows = [(r["item"], r["count"]) for r in tables["data_quality"].rows
            if r["problem"] == "unresolved referrer"]  # fmt: skip
    assert rows == [
        ("1 referring NPIs no clinician holds (new-referrers.csv)", 1),
        ("1 referring NPIs held by a prospect in the CRM (new-referrers.csv)", 2),
    ]
