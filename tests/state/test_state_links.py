"""The id crosswalk and the write ledger."""

from __future__ import annotations

import pytest

from mapping.errors import StateError
from sync.state import content_hash


def test_links_are_looked_up_both_ways_per_connection(store):
    created = store.link_many("partner", "salesforce", [("p1", "001A"), ("p2", "001B")])
    store.link_many("partner", "hubspot", [("p1", "9001")])
    assert created == 2
    assert store.native_ids_for("partner", "salesforce", ["p1", "p2", "p3"]) == {
        "p1": "001A",
        "p2": "001B",
    }
    assert store.canonical_ids_for("partner", "salesforce", ["001B", "zzz"]) == {"001B": "p2"}
    assert store.native_ids_for("partner", "hubspot", ["p1", "p2"]) == {"p1": "9001"}
    assert store.canonical_ids_for("clinician", "salesforce", ["001A"]) == {}


def test_relinking_unchanged_pairs_changes_nothing(store):
    store.link_many("partner", "salesforce", [("p1", "001A")])
    assert store.link_many("partner", "salesforce", [("p1", "001A")]) == 0


def test_a_canonical_id_relinked_to_a_new_native_id_replaces_the_old_link(store):
    store.link_many("partner", "hubspot", [("p1", "9001")])
    store.link_many("partner", "hubspot", [("p1", "9002")])
    assert store.native_ids_for("partner", "hubspot", ["p1"]) == {"p1": "9002"}
    assert store.canonical_ids_for("partner", "hubspot", ["9001", "9002"]) == {"9002": "p1"}


def test_a_native_id_already_linked_to_another_canonical_id_is_refused(store):
    store.link_many("partner", "hubspot", [("p1", "9001")])
    with pytest.raises(StateError, match=r"already linked to partner 'p1'.*partner 'p2'"):
        store.link_many("partner", "hubspot", [("p3", "9003"), ("p2", "9001")])
    # The whole call was refused: p3 was not linked either.
    assert store.native_ids_for("partner", "hubspot", ["p1", "p2", "p3"]) == {"p1": "9001"}


def test_one_call_linking_two_canonical_ids_to_one_native_id_is_refused(store):
    with pytest.raises(StateError, match="already linked"):
        store.link_many("partner", "hubspot", [("p1", "9001"), ("p2", "9001")])


def test_two_canonical_ids_may_swap_native_ids_in_one_call(store):
    store.link_many("partner", "hubspot", [("p1", "9001"), ("p2", "9002")])
    store.link_many("partner", "hubspot", [("p1", "9002"), ("p2", "9001")])
    assert store.native_ids_for("partner", "hubspot", ["p1", "p2"]) == {"p1": "9002", "p2": "9001"}


def test_unlinking_frees_the_native_id(store):
    store.link_many("partner", "hubspot", [("p1", "9001")])
    store.unlink("partner", "hubspot", ["p1"])
    store.link_many("partner", "hubspot", [("p2", "9001")])
    assert store.canonical_ids_for("partner", "hubspot", ["9001"]) == {"9001": "p2"}


def test_linking_thousands_of_pairs_is_chunked(store, statements):
    pairs = [(f"p{n}", f"n{n}") for n in range(3000)]
    with statements:
        store.link_many("partner", "salesforce", pairs)
    assert statements.count("INSERT") == 1
    assert statements.count() < 30
    assert len(store.canonical_ids_for("partner", "salesforce", [n for _, n in pairs])) == 3000


def test_first_links_are_inserted_without_deleting_and_a_relink_deletes_only_its_own(
    store, statements
):
    pairs = [(f"p{n}", f"n{n}") for n in range(3000)]
    with statements:
        store.link_many("partner", "salesforce", pairs)
    assert statements.count("DELETE") == 0
    with statements:
        store.link_many("partner", "salesforce", [("p1", "m1"), ("p9999", "m9999")])
    assert statements.count("DELETE") == 1
    assert store.native_ids_for("partner", "salesforce", ["p0", "p1", "p9999"]) == {
        "p0": "n0",
        "p1": "m1",
        "p9999": "m9999",
    }
    assert store.canonical_ids_for("partner", "salesforce", ["n1", "m1"]) == {"m1": "p1"}


def test_the_ledger_remembers_the_last_hash_written_per_destination(store):
    store.record_writes("hubspot", "referral", [("r1", "h1", "801"), ("r2", "h2", None)], run_id=7)
    store.record_writes("salesforce", "referral", [("r1", "s1", "a0B")], run_id=7)
    store.record_writes("hubspot", "referral", [("r1", "h1-new", "801")], run_id=8)
    assert store.ledger_hashes("hubspot", "referral", ["r1", "r2", "r3"]) == {
        "r1": "h1-new",
        "r2": "h2",
    }
    assert store.ledger_hashes("salesforce", "referral", ["r1", "r2"]) == {"r1": "s1"}


def test_forgotten_writes_will_be_sent_again(store):
    store.record_writes("hubspot", "referral", [("r1", "h1", "801")], run_id=1)
    store.forget_writes("hubspot", "referral", ["r1"])
    assert store.ledger_hashes("hubspot", "referral", ["r1"]) == {}


def test_ledger_writes_of_10k_rows_are_batched(store, statements):
    rows = [(f"r{n}", f"h{n}", f"n{n}") for n in range(10_000)]
    with statements:
        store.record_writes("hubspot", "referral", rows, run_id=1)
        store.record_writes("hubspot", "referral", rows, run_id=2)
    assert statements.count("INSERT") <= 4
    assert len(store.ledger_hashes("hubspot", "referral", [f"r{n}" for n in range(10_000)])) == (
        10_000
    )


def test_content_hash_ignores_key_order_and_sees_any_change():
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
    assert len(content_hash({})) == 64
