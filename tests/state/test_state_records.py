"""Canonical records: bulk upserts, versions, tombstones, natural keys, transactions."""

from __future__ import annotations

import pytest

from mapping.errors import StateError
from sync.state import StoredRecord


def _referral(n: int, **extra) -> dict:
    return {"id": f"ref-{n:05d}", "referral_number": f"R{n:05d}", "stage": "referred", **extra}


def test_a_stored_record_comes_back_with_version_one_and_the_clock_time(store, clock):
    result = store.put_records("referral", [StoredRecord(id="ref-1", data=_referral(1))])
    assert result.inserted == ["ref-1"]
    record = store.get_record("referral", "ref-1")
    assert record.data == _referral(1)
    assert record.version == 1
    assert record.tombstone is False
    assert record.updated_at == clock.now


def test_a_changed_record_gets_a_new_version_and_an_unchanged_one_does_not(store, clock):
    store.put_records("referral", [("ref-1", _referral(1), False), ("ref-2", _referral(2), False)])
    clock.advance(60)
    result = store.put_records(
        "referral",
        [("ref-1", _referral(1, stage="accepted"), False), ("ref-2", _referral(2), False)],
    )
    assert (result.inserted, result.updated, result.unchanged) == ([], ["ref-1"], 1)
    records = store.get_records("referral", ["ref-1", "ref-2", "missing"])
    assert set(records) == {"ref-1", "ref-2"}
    assert (records["ref-1"].version, records["ref-1"].updated_at) == (2, clock.now)
    assert records["ref-2"].version == 1


def test_entities_are_separate_namespaces(store):
    store.put_records("partner", [("x-1", {"name": "Partner"}, False)])
    store.put_records("clinician", [("x-1", {"last_name": "Clinician"}, False)])
    assert store.get_record("partner", "x-1").data == {"name": "Partner"}
    assert store.get_record("clinician", "x-1").data == {"last_name": "Clinician"}


def test_tombstoned_records_are_kept_but_skipped_by_default_when_iterating(store):
    store.put_records("referral", [("ref-1", _referral(1), False), ("ref-2", _referral(2), False)])
    store.put_records("referral", [("ref-1", _referral(1), True)])
    assert [r.id for r in store.iter_records("referral")] == ["ref-2"]
    assert [r.id for r in store.iter_records("referral", include_tombstones=True)] == [
        "ref-1",
        "ref-2",
    ]
    assert store.get_record("referral", "ref-1").tombstone is True


def test_live_record_ids_names_the_stored_untombstoned_ids_across_batches(store):
    store.put_records("referral", [(f"ref-{n}", _referral(n), False) for n in range(1200)])
    store.put_records("referral", [("ref-7", _referral(7), True)])
    store.put_records("partner", [("ref-8", {"name": "a partner"}, False)])
    asked = ["ref-7", "ref-8", "ref-1100", "missing", "ref-8"]
    assert store.live_record_ids("referral", asked) == {"ref-8", "ref-1100"}
    assert store.live_record_ids("partner", asked) == {"ref-8"}
    assert len(store.live_record_ids("referral", [f"ref-{n}" for n in range(1200)])) == 1199


def test_iterating_pages_through_more_records_than_one_page(store):
    store.put_records("partner", [(f"p{n:05d}", {"n": n}, False) for n in range(2500)])
    ids = [r.id for r in store.iter_records("partner")]
    assert ids == [f"p{n:05d}" for n in range(2500)]


def test_bulk_upsert_of_10k_records_is_chunked_not_one_statement_per_row(store, statements):
    rows = [(f"ref-{n:05d}", _referral(n), False) for n in range(10_000)]
    with statements:
        first = store.put_records("referral", rows)
    assert len(first.inserted) == 10_000
    # 20 chunked reads of existing rows + key checks, one executemany per table.
    assert statements.count() < 60
    changed = [(f"ref-{n:05d}", _referral(n, stage="accepted"), False) for n in range(0, 10_000, 2)]
    with statements:
        second = store.put_records("referral", rows[1::2] + changed)
    assert (len(second.updated), second.unchanged) == (5_000, 5_000)
    assert statements.count() < 130
    assert store.get_record("referral", "ref-00002").data["stage"] == "accepted"
    assert store.get_record("referral", "ref-00002").version == 2
    assert store.get_record("referral", "ref-00003").version == 1


def test_records_are_found_by_their_natural_key(store):
    store.put_records("referral", [(f"ref-{n}", _referral(n), False) for n in range(3)])
    found = store.find_ids_by_key("referral", "referral_number", ["R00001", "R00002", "R99999"])
    assert found == {"R00001": "ref-1", "R00002": "ref-2"}


def test_natural_key_lookups_of_thousands_of_values_are_chunked(store, statements):
    store.put_records("referral", [(f"ref-{n}", _referral(n), False) for n in range(1200)])
    with statements:
        found = store.find_ids_by_key(
            "referral", "referral_number", [f"R{n:05d}" for n in range(1200)]
        )
    assert len(found) == 1200
    assert statements.count("SELECT") == 3


def test_a_changed_natural_key_moves_and_a_tombstone_frees_it(store):
    store.put_records("referral", [("ref-1", _referral(1), False)])
    store.put_records("referral", [("ref-1", _referral(1, referral_number="R-NEW"), False)])
    assert store.find_ids_by_key("referral", "referral_number", ["R00001", "R-NEW"]) == {
        "R-NEW": "ref-1"
    }
    store.put_records("referral", [("ref-1", _referral(1, referral_number="R-NEW"), True)])
    assert store.find_ids_by_key("referral", "referral_number", ["R-NEW"]) == {}
    store.put_records("referral", [("ref-9", _referral(9, referral_number="R-NEW"), False)])
    assert store.find_ids_by_key("referral", "referral_number", ["R-NEW"]) == {"R-NEW": "ref-9"}


def test_a_record_claiming_another_records_natural_key_is_stored_but_claims_nothing(store):
    # One bad source row never fails a run: the holder keeps the key, the claimant is stored
    # and found by key_collisions (the writer rejects it per record until it is corrected).
    store.put_records("clinician", [("c-1", {"npi": "1234567893", "last_name": "A"}, False)])
    store.put_records(
        "clinician",
        [
            ("c-3", {"npi": "1245319599", "last_name": "C"}, False),
            ("c-2", {"npi": "1234567893", "last_name": "B"}, False),
        ],
    )
    assert store.find_ids_by_key("clinician", "npi", ["1234567893"]) == {"1234567893": "c-1"}
    assert set(store.get_records("clinician", ["c-2", "c-3"])) == {"c-2", "c-3"}
    stored = store.get_records("clinician", ["c-1", "c-2", "c-3"]).values()
    assert store.key_collisions("clinician", stored) == [("c-2", "npi", "1234567893")]


def test_one_batch_claiming_a_natural_key_twice_gives_it_to_the_first_claimant(store):
    store.put_records(
        "clinician",
        [("c-1", {"npi": "1234567893"}, False), ("c-2", {"npi": "1234567893"}, False)],
    )
    assert store.find_ids_by_key("clinician", "npi", ["1234567893"]) == {"1234567893": "c-1"}
    stored = store.get_records("clinician", ["c-1", "c-2"]).values()
    assert store.key_collisions("clinician", stored) == [("c-2", "npi", "1234567893")]


def test_a_session_commits_everything_at_the_end(store):
    with store.session():
        store.put_records("partner", [("p1", {"name": "A"}, False)])
        store.set_bookmark("salesforce", "Account", {"since": "2026-03-01T00:00:00Z"})
    assert store.get_record("partner", "p1") is not None
    assert store.get_bookmark("salesforce", "Account") == {"since": "2026-03-01T00:00:00Z"}


def test_a_session_that_raises_keeps_nothing(store):
    with pytest.raises(RuntimeError), store.session():
        store.put_records("partner", [("p1", {"name": "A"}, False)])
        store.set_bookmark("salesforce", "Account", {"since": "x"})
        raise RuntimeError("connector failed mid-run")
    assert store.get_record("partner", "p1") is None
    assert store.get_bookmark("salesforce", "Account") is None


def test_rollback_only_leaves_nothing_behind_even_when_it_succeeds(store):
    store.put_records("partner", [("p0", {"name": "before"}, False)])
    with store.rollback_only():
        store.put_records(
            "partner", [("p0", {"name": "changed"}, False), ("p1", {"name": "new"}, False)]
        )
        store.link_many("partner", "hubspot", [("p1", "901")])
        store.record_writes("hubspot", "partner", [("p1", "h1", "901")], run_id=None)
        # Inside, the plan sees its own changes.
        assert store.get_record("partner", "p1").data == {"name": "new"}
    assert store.get_record("partner", "p0").data == {"name": "before"}
    assert store.get_record("partner", "p1") is None
    assert store.native_ids_for("partner", "hubspot", ["p1"]) == {}
    assert store.ledger_hashes("hubspot", "partner", ["p1"]) == {}


def test_sessions_do_not_nest(store):
    with store.session(), pytest.raises(StateError, match="already open"), store.rollback_only():
        pass


def test_record_data_that_is_not_json_is_a_state_error(store):
    from datetime import UTC, datetime

    with pytest.raises(StateError, match="not JSON serializable"):
        store.put_records("partner", [("p1", {"at": datetime.now(UTC)}, False)])


def test_one_store_can_be_used_from_several_threads_at_once(store):
    import threading

    failures = []

    def _work(t: int) -> None:
        try:
            for batch in range(5):
                rows = [(f"t{t}-{batch}-{n}", {"n": n}, False) for n in range(50)]
                store.put_records("partner", rows)
                with store.session():
                    store.set_bookmark("c", f"o{t}", {"batch": batch})
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=_work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sum(1 for _ in store.iter_records("partner")) == 4 * 5 * 50
    assert store.get_bookmark("c", "o3") == {"batch": 4}


def test_an_update_racing_another_writer_is_refused_not_lost(store, open_store, clock):
    # Force the interleaving: we read version 1, another process stores version 2, then we
    # try to store our version 2 on top of the version 1 we read.
    store.put_records("partner", [("p1", {"name": "v1"}, False)])
    open_store().put_records("partner", [("p1", {"name": "theirs"}, False)])
    ours = {
        "id": "p1",
        "data": {"name": "ours"},
        "tombstone": False,
        "version": 2,
        "updated_at": clock.now,
    }
    with (
        pytest.raises(StateError, match="changed by another process"),
        store._transaction("t") as conn,
    ):
        store._apply_updates(conn, "partner", [ours])
    assert store.get_record("partner", "p1").data == {"name": "theirs"}


def test_records_the_caller_read_are_not_read_again_and_their_version_is_still_checked(
    store, open_store, statements
):
    store.put_records("partner", [("p1", {"name": "v1"}, False), ("p2", {"name": "v1"}, False)])
    read = store.get_records("partner", ["p1", "p2"])
    with statements:
        result = store.put_records(
            "partner",
            [("p1", {"name": "v2"}, False), ("p2", {"name": "v1"}, False), ("p3", {}, False)],
            read=read,
        )
    assert (result.updated, result.unchanged, result.inserted) == (["p1"], 1, ["p3"])
    assert store.get_record("partner", "p1").version == 2
    # p1 and p2 came from ``read``: only the unknown p3 was looked up (besides the latest
    # stamp, one indexed max(): stamps never go back).
    lookups = [s for s in statements.statements if s.lstrip().upper().startswith("SELECT")]
    assert len([s for s in lookups if "FROM records" in s and "max(" not in s]) == 1

    stale = store.get_records("partner", ["p1"])
    open_store().put_records("partner", [("p1", {"name": "theirs"}, False)])
    with pytest.raises(StateError, match="changed by another process"):
        store.put_records("partner", [("p1", {"name": "ours"}, False)], read=stale)
    assert store.get_record("partner", "p1").data == {"name": "theirs"}


def test_live_records_counted_up_to_a_limit_give_the_smaller_of_the_two(store):
    store.put_records("referral", [(f"r{n}", {"n": n}, n in (2, 5)) for n in range(7)])
    store.put_records("partner", [("p1", {"name": "Lakeside"}, False)])
    assert store.count_records("referral") == 5
    assert [store.count_records_up_to("referral", k) for k in (0, 3, 5, 10)] == [0, 3, 5, 5]
