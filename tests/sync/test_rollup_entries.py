"""Partner rollups kept from per-referral entries: a change run opens only the referrals it
changed, and every figure stays what a rollup computed from scratch says, run after run."""

from __future__ import annotations

import random
import sqlite3
from datetime import timedelta

import pytest

from mapping.measures import MeasureConfig, compute
from mapping.model import (
    Clinician,
    OutreachActivity,
    Partner,
    QualifiedReferralDefinition,
    Referral,
    ServiceTargets,
    Stage,
)
from sync.engine.rollups import ROLLUP_FIELDS, update_rollups
from sync.state import StateStore
from tests.mapping.test_measures import DEFINITIONS, NOW, REFERRALS, D
from tests.sync.test_rollups import SETTINGS, UTC_ZONE, _run, program_store

_WINDOWED = {"referrals_recent", "acceptance_rate", "leakage_rate", "median_days_to_schedule",
             "referrals_after_outreach", "referral_trend", "derived_status"}  # fmt: skip
_LINKED = 9  # every referral of the program but R9, which counts for no partner


@pytest.fixture
def store(tmp_path):
    yield from program_store(tmp_path / "state.db")


def _figures(store: StateStore) -> dict[str, dict[str, object]]:
    return {
        r.id: {k: v for k, v in r.data.items() if k in ROLLUP_FIELDS}
        for r in store.iter_records("partner")
    }


def _from_scratch(store: StateStore, tmp_path, now=NOW, definitions=DEFINITIONS):
    """The figures a new store holding the same records computes in one full pass."""
    url = f"sqlite:///{tmp_path / f'scratch-{random.random()}.db'}"
    with StateStore.open(url) as fresh:
        for entity in ("partner", "clinician", "referral", "outreach"):
            fresh.put_records(entity, [(r.id, r.data, False) for r in store.iter_records(entity)])
        update_rollups(fresh, {}, definitions, now=now, settings=SETTINGS, tz=UTC_ZONE)
        return _figures(fresh)


def _by_compute(store: StateStore, now=NOW) -> dict[str, dict[str, object]]:
    """The window figures mapping.measures.compute gives each partner of the stored program."""
    loaded = {entity: [model.model_validate(r.data) for r in store.iter_records(entity)]
              for entity, model in (("partner", Partner), ("clinician", Clinician),
                                    ("referral", Referral), ("outreach", OutreachActivity))}  # fmt: skip
    config = MeasureConfig(windows=(SETTINGS.rollup_days,), attribution_days=30)
    measures = compute(loaded["referral"], loaded["partner"], loaded["clinician"],
                       loaded["outreach"], DEFINITIONS, now=now, config=config)  # fmt: skip
    out = {}
    for pm in measures.partners:
        w = pm.windows[SETTINGS.rollup_days]
        out[pm.partner_id] = {
            "referrals_recent": w.referrals,
            "acceptance_rate": None if w.acceptance.value is None
            else round(100 * w.acceptance.value, 1),
            "leakage_rate": None if w.leakage.value is None else round(100 * w.leakage.value, 1),
            "median_days_to_schedule": None if w.to_schedule.median is None
            else round(w.to_schedule.median, 1),
            "referrals_after_outreach": w.after_outreach,
            "referral_trend": pm.trend.value,
            "derived_status": pm.status.value,
        }  # fmt: skip
    return out


def _put(store: StateStore, referral) -> None:
    store.put_records("referral", [(referral.id, referral.model_dump(mode="json"), False)])


def test_a_change_run_opens_only_the_referrals_it_changed(store, tmp_path):
    assert _run(store, {}).referrals_read == _LINKED
    r1 = next(r for r in REFERRALS if r.id == "R1")
    _put(store, r1.model_copy(update={"stage": Stage.NO_SHOW}))
    result = _run(store, {"referral": ["R1"]})
    assert (result.referrals_read, result.recomputed, result.changed) == (1, 1, ["P1"])
    assert _figures(store) == _from_scratch(store, tmp_path)
    assert _figures(store)["P1"]["referrals_completed"] == 1  # R6 still; R1 no longer


def test_random_change_runs_keep_every_figure_equal_to_a_rollup_from_scratch(store, tmp_path):
    rng = random.Random(11)
    _run(store, {})
    live = {r.id: r for r in REFERRALS}
    for round_ in range(6):
        now = NOW + timedelta(hours=3 * round_)
        changed = []
        for _ in range(rng.randint(1, 4)):
            rid = rng.choice(sorted(live))
            update = rng.choice([
                {"stage": Stage(rng.choice(["accepted", "scheduled", "completed", "declined"]))},
                {"partner_id": rng.choice([None, "P1", "P2", "P3"])},
                {"clinician_id": rng.choice([None, "C1", "C2", "C3"])},
                {"received_at": now - timedelta(days=rng.randint(0, 120))},
            ])  # fmt: skip
            new_id = f"N{round_}{rid}" if rng.random() < 0.3 else rid  # sometimes a new one
            live[new_id] = live[rid].model_copy(update={**update, "id": new_id})
            _put(store, live[new_id])
            changed.append(new_id)
        if rng.random() < 0.5:
            gone = rng.choice(sorted(live))
            store.put_records("referral", [(gone, live.pop(gone).model_dump(mode="json"), True)])
            changed.append(gone)
        result = _run(store, {"referral": changed}, now=now)
        assert result.referrals_read <= len(set(changed))
        assert _figures(store) == _from_scratch(store, tmp_path, now=now), f"round {round_}"
        figures = {pid: {k: v for k, v in f.items() if k in _WINDOWED}
                   for pid, f in _figures(store).items()}  # fmt: skip
        assert figures == _by_compute(store, now), f"round {round_}"


def test_new_definitions_rebuild_every_entry_in_a_full_pass(store, tmp_path):
    _run(store, {})
    tighter = [*DEFINITIONS, QualifiedReferralDefinition(
        id="card-v11", service_line="cardiology", version="v11", effective_from=D(30).date(),
        targets=ServiceTargets(schedule_within_days=1))]  # fmt: skip
    result = update_rollups(store, {}, tighter, now=NOW, settings=SETTINGS, tz=UTC_ZONE)
    assert (result.full, result.referrals_read) == (True, _LINKED)
    assert _figures(store) == _from_scratch(store, tmp_path, definitions=tighter)


def test_the_days_first_run_rebuilds_an_entry_whose_referral_changed_unreported(store, tmp_path):
    """A run that stored a referral and stopped before its rollups reports nothing: the next
    day's pass finds the entry's version behind its referral's and rebuilds that one only."""
    _run(store, {})
    r2 = next(r for r in REFERRALS if r.id == "R2")
    _put(store, r2.model_copy(update={"stage": Stage.COMPLETED}))
    next_day = NOW + timedelta(days=1)
    result = _run(store, {}, now=next_day)
    assert (result.full, result.referrals_read) == (True, 1)
    assert _figures(store) == _from_scratch(store, tmp_path, now=next_day)


@pytest.mark.parametrize("day", [D(10), D(20), D(200)])
def test_entries_keep_no_care_date_in_the_state_file(store, tmp_path, day):
    _run(store, {})
    path = store.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT data FROM records WHERE entity = 'rollup_entries'").fetchall()
    assert len(rows) == 5 and all(day.date().isoformat() not in data for (data,) in rows)
    entries = store.get_record("rollup_entries", "P1")
    assert entries is not None and len(entries.data["entries"]) == 5  # R1, R2, R3, R6, R7


def test_outreach_to_a_clinician_of_another_practice_counts_for_the_referral_they_sent(store):
    """R5 is P2's; sent by P1's clinician C1, the visit to C1 nine days before (O1, D12)
    touches it, although O1 counts for P1 and only P2 is recomputed."""
    _run(store, {})
    assert _figures(store)["P2"]["referrals_after_outreach"] == 1  # R10, 30 days after O3
    r5 = next(r for r in REFERRALS if r.id == "R5")
    _put(store, r5.model_copy(update={"clinician_id": "C1"}))
    result = _run(store, {"referral": ["R5"]})
    assert (result.recomputed, result.changed) == (1, ["P2"])
    assert _figures(store)["P2"]["referrals_after_outreach"] == 2
    assert _by_compute(store)["P2"]["referrals_after_outreach"] == 2


def test_a_deleted_partners_entries_are_dropped_with_it(store):
    _run(store, {})
    for pid in ("P1", "P2", "P4"):  # P4: no record counts for it
        data = store.get_record("partner", pid).data
        store.put_records("partner", [(pid, data, True)])
    _run(store, {"partner": ["P1"]})  # P1's deletion reported; P2's and P4's not
    p1 = store.get_record("rollup_entries", "P1")
    assert p1.tombstone and p1.data == {}
    assert not store.get_record("rollup_entries", "P2").tombstone
    _run(store, {}, now=NOW + timedelta(days=1))  # the day's first run sweeps the rest
    assert store.get_record("rollup_entries", "P2").tombstone
    assert store.get_record("rollup_entries", "P4").tombstone
    assert not store.get_record("rollup_entries", "P3").tombstone
