"""The fast record constructors build exactly what the dataclasses' own constructors build."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from connectors.base import EventMeta, NativeRecord
from connectors.scheduling import records
from connectors.scheduling.records import event_meta, native_record

AT = datetime(2024, 3, 5, 15, 30, tzinfo=UTC)


def test_an_event_meta_built_fast_equals_one_built_by_its_dataclass():
    fast = event_meta(AT, "7001", "7000", "Completed", "epic.csv:12")
    slow = EventMeta(AT, "7001", "7000", "Completed", "epic.csv:12")
    assert type(fast) is EventMeta
    assert fast == slow and hash(fast) == hash(slow)
    assert dataclasses.astuple(fast) == dataclasses.astuple(slow)


def test_a_native_record_built_fast_equals_one_built_by_its_dataclass_and_stays_frozen():
    meta = EventMeta(AT, None, None, "No Show", "epic.csv:3")
    fields = {"stage": "no_show", "event_at": AT}
    fast = native_record("csv:epic.csv#3:no_show:abc", fields, False, AT, meta)
    slow = NativeRecord("csv:epic.csv#3:no_show:abc", fields, False, AT, meta)
    assert type(fast) is NativeRecord and fast == slow and repr(fast) == repr(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.id = "other"  # type: ignore[misc]


def test_a_record_class_that_changes_shape_is_refused_at_import():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Reordered:
        source: str | None
        at: datetime

    with pytest.raises(TypeError, match="changed shape"):
        records._slot_setters(Reordered, ("at", "source"))

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        at: datetime

        def __post_init__(self) -> None:
            pass

    with pytest.raises(TypeError, match="changed shape"):
        records._slot_setters(Checked, ("at",))
