"""The coarsened fields deidentified destinations receive instead of per-patient dates."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from config.models import MeasuresConfig
from sync.engine.derived import coarsen_referral, coarsen_referrals
from sync.engine.rollups import update_rollups
from sync.state import StateStore

CHICAGO = ZoneInfo("America/Chicago")


def _event(stage: str, at: str) -> dict:
    return {"stage": stage, "entered_at": at, "system": "epic"}


def test_intervals_weeks_and_months_come_from_receipt_scheduling_completion_and_closure():
    data = {
        "stage": "completed",
        "received_at": "2024-02-26T16:00:00+00:00",
        "completed_at": "2024-03-12T15:00:00+00:00",
        "loop_closed_at": "2024-03-15T15:00:00+00:00",
        "stage_history": [
            _event("completed", "2024-03-12T15:00:00+00:00"),
            _event("scheduled", "2024-03-01T16:30:00+00:00"),
        ],
    }
    assert coarsen_referral(data, CHICAGO) == {
        "received_month": "2024-02",
        "received_week": "2024-W09",
        "stage_entered_week": "2024-W11",
        "days_to_schedule": 4,
        "days_to_complete": 14,
        "days_to_close_loop": 3,
    }


def test_weeks_and_months_are_those_of_the_program_time_zone():
    # 03:00 UTC on 1 March is still 29 February in Chicago (and a Thursday of week 9).
    data = {"stage": "referred", "stage_history": [_event("referred", "2024-03-01T03:00:00Z")]}
    out = coarsen_referral(data, CHICAGO)
    assert (out["received_month"], out["received_week"]) == ("2024-02", "2024-W09")
    assert coarsen_referral(data, ZoneInfo("UTC"))["received_month"] == "2024-03"


def test_unknown_or_backwards_intervals_are_left_empty_not_guessed():
    data = {
        "stage": "scheduled",
        "received_at": "2024-03-10T00:00:00+00:00",
        "stage_history": [_event("scheduled", "2024-03-01T00:00:00+00:00")],
    }
    out = coarsen_referral(data, CHICAGO)
    assert out["days_to_schedule"] is None and out["days_to_complete"] is None
    assert out["stage_entered_week"] == "2024-W09"


def test_the_store_keeps_derived_fields_current_and_a_second_pass_changes_nothing(tmp_path):
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        store.put_records("referral", [("r1", {
            "id": "r1", "referral_number": "R1", "stage": "scheduled", "partner_id": "p1",
            "received_at": "2024-02-26T16:00:00+00:00",
            "stage_history": [_event("scheduled", "2024-03-01T16:30:00+00:00")],
        }, False)])  # fmt: skip
        store.put_records("partner", [("p1", {"id": "p1", "name": "Lakeside"}, False)])
        assert coarsen_referrals(store, CHICAGO, ["not-touched"]) == 0
        assert coarsen_referrals(store, CHICAGO, ["r1"]) == 1
        assert coarsen_referrals(store, CHICAGO) == 0
        assert store.get_record("referral", "r1").data["days_to_schedule"] == 4
        update_rollups(
            store,
            {},
            [],
            now=datetime(2024, 3, 5, tzinfo=UTC),
            settings=MeasuresConfig(),
            tz=CHICAGO,
        )
        assert store.get_record("partner", "p1").data["last_referral_week"] == "2024-W09"
