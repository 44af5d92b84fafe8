"""Incremental reads past HubSpot's 10,000-result search cap (crm-sync-failure-modes B1/B2)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hubspot_support import connector_for, provisioned_sandbox

from connectors.sandbox.hubspot import HubSpotSandbox

# The sandbox does not enforce search's 5 requests/s, so these tests lift the client-side
# search budget to keep them fast; the call counts below are what HubSpot would see.
FAST_SEARCH = {"search_per_second": 1000}


@pytest.fixture(scope="module")
def big() -> Iterator[HubSpotSandbox]:
    yield from provisioned_sandbox()


def _ids(pages: list) -> Counter[str]:
    return Counter(r.id for p in pages for r in p.records if not r.deleted)


def test_25000_deals_modified_in_the_same_millisecond_are_each_read_once(
    big: HubSpotSandbox,
) -> None:
    """Failure catalogue: B2."""
    stamp = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    big.set_now(stamp, frozen=True)
    try:
        ids = big.insert("deals", ({"dealname": f"R{i}"} for i in range(25_000)))
    finally:
        big.set_now(datetime.now(UTC))
    connector = connector_for(big, **FAST_SEARCH)
    since = {"ts": int((stamp - timedelta(seconds=1)).timestamp() * 1000), "id": None}
    until = stamp + timedelta(seconds=1)
    pages = list(connector.read("deals", since=since, fields=["dealname"], until=until))
    seen = _ids(pages)
    assert set(seen) == set(ids)
    assert max(seen.values()) == 1  # each once
    last = pages[-1].bookmark
    assert (last["ts"], last["id"]) == (int(stamp.timestamp() * 1000), max(map(int, ids)))
    # 50 capped pages, then the stamp walked by id (125 pages + restarts): no 400 past the cap
    assert connector.transport.calls["objects_search.do_search"] <= 180


def test_12000_changes_over_several_stamps_are_split_by_time_and_each_read_once(
    big: HubSpotSandbox,
) -> None:
    """Failure catalogue: B1."""
    start = datetime(2026, 2, 1, tzinfo=UTC)
    big.set_now(start)  # running clock: every insert gets a later millisecond
    try:
        ids = big.insert("companies", ({"name": f"C{i}"} for i in range(12_000)))
    finally:
        big.set_now(datetime.now(UTC))
    connector = connector_for(big, **FAST_SEARCH)
    since = {"ts": int(start.timestamp() * 1000) - 1, "id": None}
    until = start + timedelta(minutes=5)
    pages = list(connector.read("companies", since=since, fields=["name"], until=until))
    seen = _ids(pages)
    assert set(seen) == set(ids) and max(seen.values()) == 1
    assert connector.transport.calls["objects_search.do_search"] == 61  # 50 + 11 after restart


def test_an_interrupted_read_resumes_from_a_page_bookmark_without_skipping(
    big: HubSpotSandbox,
) -> None:
    """Failure catalogue: C1."""
    stamp = datetime(2026, 3, 1, tzinfo=UTC)
    big.set_now(stamp, frozen=True)
    try:
        ids = big.insert("contacts", ({"lastname": f"L{i}"} for i in range(1_500)))
    finally:
        big.set_now(datetime.now(UTC))
    connector = connector_for(big, **FAST_SEARCH)
    since = {"ts": int(stamp.timestamp() * 1000) - 1, "id": None}
    until = stamp + timedelta(seconds=1)
    first = next(iter(connector.read("contacts", since=since, fields=["lastname"], until=until)))
    rest = list(connector.read("contacts", since=first.bookmark, fields=["lastname"], until=until))
    assert set(_ids([first, *rest])) == set(ids)
