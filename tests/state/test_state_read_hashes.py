"""Read hashes: the digest each native record had when last merged, with the live record its
link names, read in one statement (the reader's test that a re-read row needs nothing)."""

from __future__ import annotations


def test_a_digest_comes_back_with_the_live_record_its_link_names(store):
    store.put_records(
        "referral",
        [("ref-1", {"n": 1}, False), ("ref-2", {"n": 2}, False), ("ref-3", {"n": 3}, False)],
    )
    store.put_records("referral", [("ref-3", {"n": 3}, True)])  # gone since
    store.link_many("referral", "epic", [("ref-1", "row-1"), ("ref-3", "row-3")])
    store.link_many("referral", "other", [("ref-2", "row-2")])  # another connection's link
    store.remember_read_hashes(
        "epic", "referral", [("row-1", "d1"), ("row-2", "d2"), ("row-3", "d3"), ("row-4", "d4")]
    )
    store.remember_read_hashes("epic", "clinician", [("row-1", "other entity")])

    found = store.read_hashes_linked("epic", "referral", ["row-1", "row-2", "row-3", "row-4", "x"])

    assert found == {
        "row-1": ("d1", "ref-1"),
        "row-2": ("d2", None),  # linked for another connection only
        "row-3": ("d3", None),  # its record is a tombstone
        "row-4": ("d4", None),  # never linked
    }


def test_read_hashes_linked_reads_past_one_batch_of_ids(store):
    pairs = [(f"ref-{i}", f"row-{i}") for i in range(1500)]
    store.put_records("referral", [(cid, {"i": i}, False) for i, (cid, _) in enumerate(pairs)])
    store.link_many("referral", "epic", pairs)
    store.remember_read_hashes("epic", "referral", [(n, f"d-{n}") for _, n in pairs])

    found = store.read_hashes_linked("epic", "referral", [n for _, n in pairs])

    assert found == {n: (f"d-{n}", cid) for cid, n in pairs}
