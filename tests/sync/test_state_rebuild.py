"""A lost state store is rebuilt by running the jobs again (docs/state.md, "Rebuilding the
state"): canonical ids are deterministic (natural key, or origin system + native id), and
every destination is upserted by its external-id key, so a program that starts over from an
empty state lands on the same records, creates no duplicate in either CRM, re-sends each
record at most once, and then writes nothing again."""

from __future__ import annotations

from sync.state import StateStore
from tests.sync.conftest import Hub, deal_stages, sf_stages
from tests.sync.test_referral_linkage import _CLINICIANS, _deal_links, _export, _seed

JOBS = ("partners-to-hubspot", "scheduling-to-crm")


def _run_all(hub: Hub) -> int:
    """Run every job once; the number of records written."""
    written = 0
    for job in JOBS:
        report = hub.run(job)
        assert report.exit_code() == 0, report.rejects
        written += sum(n for key, n in report.written.items() if not key.endswith("unchanged"))
    return written


def _ids(hub: Hub) -> dict[str, set[str]]:
    store = StateStore.open(hub.state_url)
    try:
        return {e: set(store.record_ids(e)) for e in ("partner", "clinician", "referral")}
    finally:
        store.close()


def _crm_counts(hub: Hub) -> tuple[int, ...]:
    sf = tuple(len(hub.sf.records(o)) for o in ("Account", "Contact", "Referral__c"))
    hs = tuple(len(hub.hs.records(o)) for o in ("companies", "contacts", "deals"))
    return sf + hs


def _lose_the_state(hub: Hub) -> None:
    for path in hub.root.glob("state.db*"):  # the database, its journal and its key
        path.unlink()


def test_a_lost_state_is_rebuilt_by_running_the_jobs_again_without_duplicates(hub: Hub) -> None:
    _seed(hub)
    npi = _CLINICIANS[0][2]
    _export(hub, "a.csv", [("9001", "REF-1", npi), ("9002", "REF-2", npi)])
    # Second pass: partner rollups count the referrals the later job brought.
    first = _run_all(hub) + _run_all(hub)
    before_ids, before_counts = _ids(hub), _crm_counts(hub)
    before_stages = (sf_stages(hub.sf), deal_stages(hub.hs))
    before_links = _deal_links(hub, "REF-1")
    assert _run_all(hub) == 0

    _lose_the_state(hub)
    resent = _run_all(hub) + _run_all(hub)  # the rebuild: every job, twice

    assert _ids(hub) == before_ids  # the same canonical records, by the same ids
    assert _crm_counts(hub) == before_counts  # upserts by key: nothing created twice
    assert (sf_stages(hub.sf), deal_stages(hub.hs)) == before_stages
    assert _deal_links(hub, "REF-1") == before_links
    # What the program wrote when it started is re-sent once (the ledger went with the
    # state), as the same upserts ...
    assert resent == first
    # ... and from then on the rebuilt state knows what every destination holds.
    assert _run_all(hub) == 0
