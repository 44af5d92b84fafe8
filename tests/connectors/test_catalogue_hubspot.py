"""Failure-catalogue cases for HubSpot (``docs/crm-sync-failure-modes.md``), through the real
hubspot-api-client against the sandbox. Each test names its case id."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hubspot_support import companies, connector_for, provisioned_sandbox

from connectors.sandbox.hubspot import HubSpotSandbox

BASE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FIELDS = ["refsync_id", "name"]


@pytest.fixture(scope="module")
def hsc() -> Iterator[HubSpotSandbox]:
    """A sandbox of this module's own: these tests move its clock."""
    yield from provisioned_sandbox()


def _prefix() -> str:
    return f"c{uuid.uuid4().hex[:8]}-"


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _keys(pages: list, prefix: str) -> list[str]:
    return [
        str(r.fields["refsync_id"])
        for p in pages
        for r in p.records
        if str(r.fields.get("refsync_id", "")).startswith(prefix)
    ]


def test_c2_a_record_search_shows_late_is_read_once_by_the_next_run_within_the_lookback(
    hsc: HubSpotSandbox,
) -> None:
    """C2: search indexes a record after a later-stamped one; the next run's lookback reads
    it exactly once, and the record already delivered is not delivered again."""
    prefix, start = _prefix(), BASE + timedelta(days=1)
    hsc.set_now(start)
    [late] = hsc.insert("companies", companies(f"{prefix}late-", 1))
    hsc.set_now(start + timedelta(seconds=10))
    hsc.insert("companies", companies(f"{prefix}seen-", 1))
    hsc.delay_indexing("companies", [late], seconds=60)
    bookmark = {"ts": _ms(start) - 1000, "id": None, "archived_ts": _ms(start)}

    first_until = start + timedelta(seconds=20)
    hsc.set_now(first_until)
    pages = list(connector_for(hsc).read("companies", since=bookmark, fields=FIELDS,
                                         until=first_until))  # fmt: skip
    assert _keys(pages, prefix) == [f"{prefix}seen-00000"]
    after_first = pages[-1].bookmark
    assert after_first["ts"] > _ms(start)  # past the late record's stamp

    second_until = start + timedelta(seconds=90)
    hsc.set_now(second_until)
    pages = list(connector_for(hsc).read("companies", since=after_first, fields=FIELDS,
                                         until=second_until))  # fmt: skip
    assert _keys(pages, prefix) == [f"{prefix}late-00000"]
    assert pages[-1].bookmark["ts"] >= after_first["ts"]  # never moves back

    # The control: without the lookback the late record is lost to incremental reads.
    blind = connector_for(hsc, search_lookback_seconds=0)
    pages = list(blind.read("companies", since=after_first, fields=FIELDS, until=second_until))
    assert _keys(pages, prefix) == []
