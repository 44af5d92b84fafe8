"""Partner rollups in the state store, computed incrementally, on the hand-computed program of
tests/mapping/test_measures.py (NOW = 2026-06-30 12:00 UTC; D(n) = n days before)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.models import MeasuresConfig
from sync.engine.rollups import update_rollups
from sync.state import StateStore
from tests.mapping.test_measures import (
    CLINICIANS,
    DEFINITIONS,
    NOW,
    OUTREACH,
    PARTNERS,
    REFERRALS,
    D,
)

UTC_ZONE = ZoneInfo("UTC")
SETTINGS = MeasuresConfig(rollup_days=90, attribution_days=30)


def program_store(path: Path, kind: type[StateStore] = StateStore) -> Iterator[StateStore]:
    """A SQLite store at ``path`` holding the hand-computed program (no rollups yet)."""
    with kind.open(f"sqlite:///{path}") as store:
        for entity, records in (("partner", PARTNERS), ("clinician", CLINICIANS),
                                ("referral", REFERRALS), ("outreach", OUTREACH)):  # fmt: skip
            store.put_records(entity, [(r.id, r.model_dump(mode="json"), False) for r in records])
        yield store


@pytest.fixture
def store(tmp_path):
    yield from program_store(tmp_path / "state.db")


def _run(store, touched, now=NOW):
    return update_rollups(store, touched, DEFINITIONS, now=now, settings=SETTINGS, tz=UTC_ZONE)


def _rollup(store, pid):
    return store.get_record("partner", pid).data


def test_the_first_run_of_a_day_computes_every_partner_by_hand_figures(store):
    result = _run(store, {})
    assert (result.full, result.recomputed) == (True, 5)
    p1 = _rollup(store, "P1")
    # P1: R1, R2, R6, R7 and R3 (no partner; its clinician C1 works at P1)
    assert (p1["referrals_total"], p1["referrals_completed"], p1["referrals_open"]) == (5, 2, 1)
    # last 90 days: R1 (D10), R2 (D20), R3 (D40); R2 and R1 accepted, R3 declined
    assert (p1["referrals_recent"], p1["acceptance_rate"]) == (3, 66.7)
    # due for scheduling: R1 (in 2.5 days) and R2 (in 15); R3 declined is not due
    assert (p1["leakage_rate"], p1["median_days_to_schedule"]) == (0.0, round((2.5 + 15) / 2, 1))
    assert p1["referrals_after_outreach"] == 2  # R1 after O1 and O2, R2 after O2
    assert (p1["referral_trend"], p1["derived_status"]) == ("growing", "active")  # 3 vs 0
    assert p1["last_referral_at"].startswith(D(10).date().isoformat())
    assert p1["last_outreach_at"].startswith(D(12).date().isoformat())  # O6 (D11) cancelled
    quiet = _rollup(store, "P3")  # an attended seminar, no referral
    assert (quiet["referrals_total"], quiet["referrals_recent"], quiet["acceptance_rate"]) == (
        0, 0, None)  # fmt: skip
    assert (quiet["median_days_to_schedule"], quiet["derived_status"]) == (None, "engaged")


def test_a_later_run_recomputes_only_the_partners_whose_records_changed(store):
    _run(store, {})
    assert _run(store, {}).recomputed == 0  # nothing touched: nothing recomputed
    moved = next(r for r in REFERRALS if r.id == "R2").model_copy(update={"partner_id": "P2"})
    store.put_records("referral", [("R2", moved.model_dump(mode="json"), False)])
    result = _run(store, {"referral": ["R2"]})
    assert (result.full, result.recomputed, sorted(result.changed)) == (False, 2, ["P1", "P2"])
    assert _rollup(store, "P1")["referrals_recent"] == 2  # R1, R3
    assert _rollup(store, "P2")["referrals_recent"] == 4  # R5, R8, R10 and now R2
    # the same referral touched again without a change: its partner recomputed, nothing stored
    again = _run(store, {"referral": ["R2"]})
    assert (again.recomputed, again.changed) == (1, [])


def test_outreach_and_a_new_partner_recompute_the_partners_they_concern(store):
    _run(store, {})
    late = OUTREACH[0].model_copy(update={"id": "O8", "occurred_at": D(1), "partner_id": "P4"})
    store.put_records("outreach", [("O8", late.model_dump(mode="json"), False)])
    store.put_records("partner", [("P6", {"id": "P6", "name": "Brand New Clinic"}, False)])
    result = _run(store, {"outreach": ["O8"], "partner": ["P6"]})
    # O8 went to P4 and to clinician C1 (P1); P6 is new
    assert (result.recomputed, sorted(result.changed)) == (3, ["P4", "P6"])
    assert _rollup(store, "P4")["derived_status"] == "engaged"
    assert _rollup(store, "P6")["referrals_total"] == 0


def test_a_new_day_or_new_settings_recompute_every_partner_once(store):
    _run(store, {})
    assert _run(store, {}, now=NOW + timedelta(days=1)).full is True
    assert _run(store, {}, now=NOW + timedelta(days=1)).full is False
    wider = MeasuresConfig(rollup_days=365)
    result = update_rollups(store, {}, DEFINITIONS, now=NOW + timedelta(days=1), settings=wider,
                            tz=UTC_ZONE)  # fmt: skip
    assert result.full and _rollup(store, "P1")["referrals_recent"] == 4  # R6 (D200) joins


def _member_ids(store):
    return set(store.record_ids("rollup_member"))


def test_a_referral_that_counts_for_no_partner_keeps_no_membership_row(store):
    lone = REFERRALS[0].model_copy(update={"id": "R99", "partner_id": None, "clinician_id": None})
    store.put_records("referral", [("R99", lone.model_dump(mode="json"), False)])
    _run(store, {})
    assert "r:R99" not in _member_ids(store) and "r:R1" in _member_ids(store)
    assert _run(store, {"referral": ["R99"]}).recomputed == 0  # still nobody's: no row, no work
    assert "r:R99" not in _member_ids(store)
    linked = lone.model_copy(update={"partner_id": "P2"})
    store.put_records("referral", [("R99", linked.model_dump(mode="json"), False)])
    result = _run(store, {"referral": ["R99"]})
    assert (result.recomputed, result.changed) == (1, ["P2"])
    assert store.get_record("rollup_member", "r:R99").data == {"partners": ["P2"]}


def test_a_referral_that_lost_its_partner_by_the_next_day_has_its_row_emptied(store):
    _run(store, {})
    r1 = next(r for r in REFERRALS if r.id == "R1")
    orphan = r1.model_copy(update={"partner_id": None, "clinician_id": None})
    store.put_records("referral", [("R1", orphan.model_dump(mode="json"), False)])
    next_day = NOW + timedelta(days=1)
    assert _run(store, {}, now=next_day).full is True  # the day's rebuild, R1 not reported
    assert store.get_record("rollup_member", "r:R1").data == {"partners": []}
    # touched again: nothing moves, so no partner is recomputed for a stale membership
    assert _run(store, {"referral": ["R1"]}, now=next_day).recomputed == 0


def test_a_deleted_referral_has_its_row_emptied_by_the_next_days_rebuild(store):
    _run(store, {})
    r1 = next(r for r in REFERRALS if r.id == "R1")
    store.put_records("referral", [("R1", r1.model_dump(mode="json"), True)])
    _run(store, {}, now=NOW + timedelta(days=1))
    assert store.get_record("rollup_member", "r:R1").data == {"partners": []}
    assert "R1" not in store.get_record("rollup_index", "P1").data["referrals"]


@pytest.mark.parametrize("seed", range(4))
def test_the_days_rebuild_places_every_record_as_counted_by_hand(store, seed):
    rng = random.Random(seed)
    pick = [None, "", "P1", "P2", "P9"]  # P9: a partner with no record of its own
    staff = {c.id: rng.choice(pick) for c in CLINICIANS}
    store.put_records("clinician", [
        (c.id, c.model_copy(update={"partner_id": staff[c.id]}).model_dump(mode="json"), False)
        for c in CLINICIANS
    ])  # fmt: skip
    referrals = {}
    for i in range(300):
        clinician = rng.choice([None, "", *staff])
        update = {"id": f"X{i:03d}", "partner_id": rng.choice(pick), "clinician_id": clinician}
        referrals[f"X{i:03d}"] = REFERRALS[i % len(REFERRALS)].model_copy(update=update)
    store.put_records("referral", [(k, r.model_dump(mode="json"), False)
                                   for k, r in referrals.items()])  # fmt: skip
    _run(store, {})
    expected: dict[str, set[str]] = {}
    for r in [*REFERRALS, *referrals.values()]:
        partner = r.partner_id or staff.get(r.clinician_id or "")
        if partner:
            expected.setdefault(partner, set()).add(r.id)
    for pid in {"P1", "P2", "P3", "P9"}:
        assert set(store.get_record("rollup_index", pid).data["referrals"]) == expected.get(
            pid, set()
        )
    for rid in referrals:
        member = store.get_record("rollup_member", f"r:{rid}")
        partner = referrals[rid].partner_id or staff.get(referrals[rid].clinician_id or "")
        assert (member.data["partners"] if member else []) == ([partner] if partner else [])


def test_rollup_fields_names_every_field_a_rollup_pass_writes():
    from mapping.measures import MeasureConfig
    from mapping.rollup import partner_rollup
    from sync.engine.rollups import ROLLUP_FIELDS, rollup_fields

    rolled = partner_rollup("P1", [], [], [], now=NOW, config=MeasureConfig(windows=(90,)))
    assert set(rollup_fields(rolled, UTC_ZONE)) == ROLLUP_FIELDS


def test_many_referrals_moving_both_ways_in_one_run_leave_each_list_exact(store):
    _run(store, {})
    lists = {p: set(store.get_record("rollup_index", p).data["referrals"]) for p in ("P1", "P2")}
    swapped = {"R1": "P2", "R2": "P2", "R5": "P1", "R8": "P1"}  # P1 -> P2 and P2 -> P1
    new = {f"N{i}": ("P1" if i % 2 else "P2") for i in range(40)}
    base = next(r for r in REFERRALS if r.id == "R1")
    store.put_records("referral", [
        (rid, base.model_copy(update={"id": rid, "partner_id": pid, "clinician_id": None})
         .model_dump(mode="json"), False)
        for rid, pid in (swapped | new).items()
    ])  # fmt: skip
    _run(store, {"referral": sorted(swapped | new)})
    for rid, pid in (swapped | new).items():
        other = "P1" if pid == "P2" else "P2"
        lists[pid].add(rid)
        lists[other].discard(rid)
    for pid, expected in lists.items():
        assert store.get_record("rollup_index", pid).data["referrals"] == sorted(expected)
    assert store.get_record("rollup_member", "r:R5").data == {"partners": ["P1"]}


class _CountingStore(StateStore):
    """Records how many rows each ``put_records`` call was handed, per entity."""

    handed: dict[str, int] = {}

    def put_records(self, entity, items, **kwargs):
        items = list(items)
        self.handed = {**self.handed, entity: self.handed.get(entity, 0) + len(items)}
        return super().put_records(entity, items, **kwargs)


def test_the_days_rebuild_hands_on_only_the_member_rows_that_changed(tmp_path):
    for counting in program_store(tmp_path / "state.db", _CountingStore):
        assert isinstance(counting, _CountingStore)
        _run(counting, {})
        r1 = next(r for r in REFERRALS if r.id == "R1")
        moved = r1.model_copy(update={"partner_id": "P2"})
        counting.put_records("referral", [("R1", moved.model_dump(mode="json"), False)])
        counting.handed = {}
        assert _run(counting, {}, now=NOW + timedelta(days=1)).full is True
        assert counting.handed["rollup_member"] == 1  # r:R1 moved; the other rows stay as read
        assert counting.get_record("rollup_member", "r:R1").data == {"partners": ["P2"]}
