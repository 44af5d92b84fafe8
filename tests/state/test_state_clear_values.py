"""``StateStore.iter_clear_values``: a few clear fields of each record, taken out in SQL, with
its version, on SQLite and PostgreSQL; records with none of them set are not read back."""

from __future__ import annotations

import random

import pytest

from sync.state import StateStore

NAMES = ("partner_id", "clinician_id", "clinician_ids")


def _data(rng: random.Random, i: int) -> dict[str, object]:
    """A referral-shaped record with each membership field null, absent, empty or set."""
    data: dict[str, object] = {"id": f"R{i:05d}", "stage": "scheduled", "patient": None}
    for name, value in (("partner_id", f"P{i % 7}"), ("clinician_id", f"C{i % 5}"),
                        ("clinician_ids", [f"C{i % 3}", "C9"])):  # fmt: skip
        shape = rng.randrange(4)
        if shape == 1:
            data[name] = None
        elif shape == 2:
            data[name] = value
        elif shape == 3:
            data[name] = "" if name != "clinician_ids" else []
    return data


def test_each_record_with_a_field_set_comes_back_with_its_version_and_those_values(
    store: StateStore,
):
    rng = random.Random(7)
    stored = {f"R{i:05d}": _data(rng, i) for i in range(2_500)}  # more than two pages
    store.put_records("outreach", [(rid, data, False) for rid, data in stored.items()])
    store.put_records("outreach", [("R00003", stored["R00003"], True)])  # deleted
    stored["R00005"] = {**stored["R00005"], "partner_id": "P5"}
    store.put_records("outreach", [("R00005", stored["R00005"], False)])  # version 2
    expected = [
        (rid, 2 if rid == "R00005" else 1, {name: data.get(name) for name in NAMES})
        for rid, data in sorted(stored.items())
        if rid != "R00003" and any(data.get(name) is not None for name in NAMES)
    ]
    assert 0 < len(expected) < len(stored) - 1  # some records have none of them set
    assert list(store.iter_clear_values("outreach", NAMES)) == expected


def test_a_sealed_field_is_refused_before_any_query(store: StateStore):
    with pytest.raises(ValueError, match="sealed"):
        list(store.iter_clear_values("referral", ["partner_id", "stage_history"]))
