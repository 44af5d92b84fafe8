"""What the JSON columns accept: plain JSON values come back equal; anything else (NaN,
datetimes, UUIDs, enums that are not text) is refused with the fix, never stored altered."""

from __future__ import annotations

import enum
import math
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mapping.errors import StateError
from sync.state import StateStore, new_key


class Colour(enum.Enum):
    RED = 1


class Tier(enum.StrEnum):
    GOLD = "gold"


@pytest.fixture
def store(tmp_path: Path):
    opened = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}", keys=[new_key()])
    yield opened
    opened.close()


def test_plain_json_values_come_back_equal(store):
    data = {
        "id": "p-1",
        "name": "Saint Émile Clinic",
        "count": 2**70,  # past 64 bits
        "ratio": 1e-05,
        "flags": [True, False, None, 0, -1.5],
        "nested": {"a": [{"b": "c"}], "empty": {}},
    }
    store.put_records("partner", [("p-1", data, False)])

    stored = store.get_record("partner", "p-1")

    assert stored is not None and stored.data == data


def test_a_text_enum_is_stored_as_its_text(store):
    store.put_records("partner", [("p-1", {"id": "p-1", "tier": Tier.GOLD}, False)])

    stored = store.get_record("partner", "p-1")

    assert stored is not None and stored.data["tier"] == "gold"


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, datetime(2026, 12, 4, tzinfo=UTC), uuid.uuid4(), Colour.RED],
    ids=["nan", "infinity", "minus-infinity", "datetime", "uuid", "enum"],
)
def test_a_value_that_is_not_plain_json_is_refused_with_the_fix(store, value):
    with pytest.raises(StateError, match=r"not plain JSON.*model_dump"):
        store.put_records("partner", [("p-1", {"id": "p-1", "nested": [{"x": value}]}, False)])

    assert store.get_record("partner", "p-1") is None
