"""People marks, referrer mentions and the records changed since a time, on SQLite and
PostgreSQL: what the people files are kept from between runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sync.state import PeopleMark, StateStore


def test_records_changed_since_a_time_are_the_ones_stored_then_or_later_tombstones_too(
    store: StateStore, clock: Any
) -> None:
    store.put_records("referral", [(f"r{n}", {"n": n}, False) for n in range(5)])
    store.put_records("partner", [("p1", {"name": "Lakeside"}, False)])
    clock.advance(60)
    mark = clock.now
    store.put_records("referral", [("r1", {"n": 10}, False), ("r3", {"n": 3}, True)])
    store.put_records("referral", [("r2", {"n": 2}, False)])  # unchanged: no new version
    store.put_records("referral", [("r9", {"n": 9}, False)])
    store.put_records("partner", [("p1", {"name": "Lakeside West"}, False)])
    assert store.changed_since("referral", mark) == ["r1", "r3", "r9"]
    assert store.changed_since("referral", mark + timedelta(seconds=1)) == []
    assert store.changed_since("partner", mark) == ["p1"]


def test_a_people_mark_is_kept_per_connection_and_forgotten_on_request(
    store: StateStore, clock: Any
) -> None:
    assert store.people_mark("epic") is None
    mark = PeopleMark(clock.now, "f" * 64, {"closure.csv": "a" * 64})
    store.set_people_mark("epic", mark)
    store.set_people_mark("athena", PeopleMark(clock.now, "0" * 64, {}))
    assert store.people_mark("epic") == mark
    store.set_people_mark("epic", None)
    assert store.people_mark("epic") is None
    assert store.people_mark("athena") is not None


def test_mentions_are_replaced_for_the_referrals_named_and_counted_per_connection(
    store: StateStore,
) -> None:
    store.replace_mentions(
        "epic",
        [(f"r{n:05d}", "1111111112", None, "Clinic", "cardiology") for n in range(6000)],
        of=None,
    )
    store.replace_mentions("athena", [("r00001", "1333333334", "Bo", None, None)], of=None)
    store.replace_mentions(
        "epic", [("r00002", "1555555556", "Ada", None, "ortho")], of=["r00001", "r00002"]
    )
    assert store.mention_counts("epic") == [
        ("1111111112", 5998, None, "Clinic", ("cardiology",)),
        ("1555555556", 1, "Ada", None, ("ortho",)),
    ]
    assert store.mention_counts("athena") == [("1333333334", 1, "Bo", None, ())]
    store.replace_mentions("epic", [], of=None)
    assert store.mention_counts("epic") == []


def test_finding_the_changed_records_does_not_read_the_others(
    store: StateStore, clock: Any, statements: Any
) -> None:
    """One statement through the change-time index, whatever the number of records."""
    store.put_records("referral", [(f"r{n}", {"n": n}, False) for n in range(2000)])
    clock.advance(60)
    mark = clock.now
    store.put_records("referral", [("r7", {"n": -7}, False)])
    with statements:
        assert store.changed_since("referral", mark) == ["r7"]
    assert statements.count("SELECT") == 1


def test_records_noted_as_seen_count_as_changed_only_at_another_version(
    store: StateStore, clock: Any
) -> None:
    """What a people pass saw of the records stored within its margin is left out next
    time, unless the record moved on, even with a stamp from before the pass (a transaction
    in flight when the pass noted them)."""
    store.put_records("referral", [(f"r{n}", {"n": n}, False) for n in range(4)])
    since = clock.now - timedelta(minutes=5)
    store.note_seen("epic", "referral", since)
    store.put_records("referral", [("r1", {"n": 11}, False)])  # same stamp, later version
    clock.advance(60)
    store.put_records("referral", [("r2", {"n": 12}, False), ("r5", {"n": 5}, False)])
    assert store.changed_since("referral", since, seen_by="epic") == ["r1", "r2", "r5"]
    assert store.changed_since("referral", since, seen_by="athena") == [
        "r0", "r1", "r2", "r3", "r5",
    ]  # fmt: skip
    store.note_seen("epic", "referral", since)  # replaces what was noted
    assert store.changed_since("referral", since, seen_by="epic") == []


def test_mention_counts_give_the_last_name_given_in_id_order_else_the_first_mention(
    store: StateStore,
) -> None:
    store.replace_mentions(
        "epic",
        [
            ("r1", "111", None, "First Clinic", "cardiology"),
            ("r2", "111", "Ada Avery", "Heart Partners", "ortho"),
            ("r3", "111", "", "Later Clinic", "cardiology"),  # no name given
            ("r4", "222", None, "Only Practice", None),
            ("r5", "222", "", None, ""),
            ("r6", "111", None, None, " Cardiology"),
        ],
        of=None,
    )
    assert store.mention_counts("epic") == [
        ("111", 4, "Ada Avery", "Heart Partners", (" Cardiology", "cardiology", "ortho")),
        ("222", 2, None, "Only Practice", ()),
    ]
    assert store.mention_counts("athena") == []
