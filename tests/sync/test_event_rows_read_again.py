"""A daily re-export repeats every earlier row: only its new rows are merged (issue 15).

An unchanged row (same keyed digest of its mapped fields as when it was last merged) is not
translated, its referral not decrypted; the state it leaves is the one a full re-merge of
every row leaves, and the stages are the ones written by hand for each story.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sync.engine import reader
from sync.engine.merge import merge_record
from sync.state import StateStore
from sync.state._schema import read_hashes
from tests.sync.conftest import Hub, deal_stages, sf_stages
from tests.sync.referral_stories import epic_rows, stories, write_epic
from tests.sync.test_end_to_end import write_export

EXPORTS = Path("exports") / "epic"
LABELS = {"scheduled": "Scheduled", "completed": "Completed", "cancelled": "Cancelled",
          "no_show": "No Show"}  # fmt: skip


def _state(hub: Hub) -> dict[str, dict[str, Any]]:
    store = StateStore.open(hub.state_url)
    try:
        return {r.data["referral_number"]: r.data for r in store.iter_records("referral")}
    finally:
        store.close()


def _forget_digests(hub: Hub) -> None:
    store = StateStore.open(hub.state_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(sa.delete(read_hashes))
    finally:
        store.close()


def _count_merges(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the id of every record the reader merges (the real merge_record)."""
    merged: list[str] = []

    def counted(entity: str, record_id: str, *args: Any, **kwargs: Any) -> Any:
        merged.append(record_id)
        return merge_record(entity, record_id, *args, **kwargs)

    monkeypatch.setattr(reader, "merge_record", counted)
    return merged


def test_a_re_export_merges_only_its_new_rows_and_ends_as_a_full_re_merge_would(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = stories("RX")
    rows = [(when, row) for s in corpus for when, row in epic_rows(s)]
    cutoff = min(when for when, _ in rows) + timedelta(days=6)
    day_one = [r for w, r in rows if w <= cutoff]
    assert 0 < len(day_one) < len(rows)
    write_epic(hub.root / EXPORTS / "cadence-1.csv", day_one, seed=1)
    assert hub.run("scheduling-to-crm").exit_code() == 0
    merged = _count_merges(monkeypatch)
    write_epic(hub.root / EXPORTS / "cadence-2.csv", [r for _, r in rows], seed=2)
    report = hub.run("scheduling-to-crm")

    assert report.exit_code() == 0, report.to_json()
    assert len(merged) == len(rows) - len(day_one)  # the new rows only
    assert report.read["epic/referral/unchanged"] == len(day_one)
    assert report.read["epic/referral/read"] == len(rows)
    expected = {s.number: s.expected for s in corpus}
    assert {n: d["stage"] for n, d in _state(hub).items()} == expected
    assert sf_stages(hub.sf) == {n: LABELS[s] for n, s in expected.items()}
    assert deal_stages(hub.hs) == {n: LABELS[s] for n, s in expected.items()}

    # every row merged again, as before digests covered event rows: nothing moves
    before = _state(hub)
    _forget_digests(hub)
    hub.sf.stats.reset()
    hub.hs.stats.reset()
    write_epic(hub.root / EXPORTS / "cadence-3.csv", [r for _, r in rows], seed=3)
    again = hub.run("scheduling-to-crm")
    assert again.read["epic/referral/unchanged"] == len(rows)  # replays, each merged again
    assert len(merged) == len(rows) - len(day_one) + len(rows)
    assert _state(hub) == before
    assert hub.write_write_calls() == 0


def test_a_row_only_the_patient_matcher_places_is_merged_again_on_every_read(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbered = ("1", "REF-9", "1", "03/05/2024 9:30 AM")
    unnumbered = ("2", "", "2", "03/05/2024 9:30 AM")  # the same patient, no referral number
    newer = ("3", "REF-9", "4", "03/12/2024 9:30 AM")  # a later appointment, a no-show
    write_export(hub, "a.csv", [numbered])
    assert hub.run("scheduling-to-crm").exit_code() == 0
    write_export(hub, "b.csv", [unnumbered])  # placed by the matcher, and linked
    assert hub.run("scheduling-to-crm").exit_code() == 0
    merged = _count_merges(monkeypatch)
    # The referral's one link moves to the new row it merges; the unnumbered row, placed
    # by its link until then, is placed by the patient matcher on the next read: merged.
    write_export(hub, "c.csv", [unnumbered, numbered, newer])
    first = hub.run("scheduling-to-crm")
    assert (first.read["epic/referral/unchanged"], len(merged)) == (2, 1)
    write_export(hub, "d.csv", [unnumbered, numbered, newer])
    second = hub.run("scheduling-to-crm")

    assert second.read["epic/referral/read"] == 3
    assert second.read["epic/referral/unchanged"] == 3  # replayed, the matched one merged
    (number,) = _state(hub)
    assert number == "REF-9" and len(merged) == 2
