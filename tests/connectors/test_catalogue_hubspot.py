"""Failure-catalogue cases for HubSpot (``docs/crm-sync-failure-modes.md``), through the real
hubspot-api-client against the sandbox. Each test names its case id."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hubspot.crm.objects import ApiException
from hubspot_support import companies, connector_for, provisioned_sandbox

from connectors.sandbox.hubspot import HubSpotSandbox

TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "templates" / "mappings"
BASE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FIELDS = ["refsync_id", "name"]


@pytest.fixture(scope="module")
def hsc() -> Iterator[HubSpotSandbox]:
    """A sandbox of this module's own: these tests move its clock and add properties."""
    yield from provisioned_sandbox(ten_second_limit=100_000)


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


def test_g3_300_mapped_properties_arrive_through_batch_reads_where_a_list_url_gets_414(
    hsc: HubSpotSandbox,
) -> None:
    """G3: a property list too long for a GET URL (HubSpot answers 414) is read by POST batch
    read, one per list page: every mapped property arrives, none is dropped."""
    client = hsc.make_client()
    names = [f"clinic_custom_property_number_{i:03d}" for i in range(300)]
    for name in names:
        spec = {"name": name, "label": name, "type": "string", "fieldType": "text",
                "groupName": "refsync"}  # fmt: skip
        client.crm.properties.core_api.create("companies", spec)
    prefix = _prefix()
    rows = companies(prefix, 250)
    for n, row in enumerate(rows):
        row.update({name: f"v{n}-{i}" for i, name in enumerate(names)})
    hsc.insert("companies", rows)

    with pytest.raises(ApiException) as info:  # the control: the plain list call is refused
        client.crm.objects.basic_api.get_page("companies", limit=100, properties=names)
    assert info.value.status == 414

    reader = connector_for(hsc)
    until = datetime.now(UTC) + timedelta(days=30)  # past this module's moved clock
    pages = list(reader.read("companies", since=None, fields=["refsync_id", *names], until=until))
    mine = {
        str(r.fields["refsync_id"]): r.fields
        for p in pages
        for r in p.records
        if str(r.fields.get("refsync_id", "")).startswith(prefix)
    }
    assert len(mine) == 250
    for n in range(250):
        fields = mine[f"{prefix}{n:05d}"]
        assert [fields[name] for name in names] == [f"v{n}-{i}" for i in range(300)]
    listed = reader.transport.calls["objects_basic.get_page"]
    assert reader.transport.calls["objects_batch.read"] == listed  # one per listed page


def test_d4_a_link_changed_alone_is_seen_by_the_daily_reconciliation_not_before(
    hsc: HubSpotSandbox,
) -> None:
    """D4: moving a deal to another company changes no deal property and no modified date,
    so the incremental search misses it; the association reconciliation (every
    association_reconcile_hours) reads the new link, and only the new one."""
    prefix = _prefix()
    connector = connector_for(hsc)
    connector.upsert("companies", companies(prefix, 2), key="refsync_id")
    deal = {"refsync_id": f"{prefix}d", "dealname": "R", "associations.companies": f"{prefix}00000"}
    [written] = connector.upsert("deals", [deal], key="refsync_id")
    fields = ["refsync_id", "associations.companies"]
    start = datetime.now(UTC) + timedelta(days=40)  # past this module's moved clock
    hsc.set_now(start)
    full = list(connector_for(hsc).read("deals", since=None, fields=fields, until=start))
    bookmark = full[-1].bookmark
    assert bookmark["reconciled_at"] == _ms(start)

    other = hsc.records("companies")
    [k2] = [r["id"] for r in other if r["properties"].get("refsync_id") == f"{prefix}00001"]
    client = hsc.make_client()
    old = [{"id": i} for i in hsc.associations("deals", written.id, "companies")]
    client.crm.associations.v4.batch_api.archive(
        "deals", "companies", {"inputs": [{"from": {"id": written.id}, "to": old}]}
    )
    client.crm.associations.v4.batch_api.create_default(
        "deals", "companies", {"inputs": [{"from": {"id": written.id}, "to": {"id": k2}}]}
    )

    soon = start + timedelta(hours=1)
    hsc.set_now(soon)
    pages = list(connector_for(hsc).read("deals", since=bookmark, fields=fields, until=soon))
    assert _keys(pages, prefix) == []  # no modified date moved: incremental search misses it
    bookmark = pages[-1].bookmark

    next_day = start + timedelta(hours=25)
    hsc.set_now(next_day)
    reader = connector_for(hsc)
    pages = list(reader.read("deals", since=bookmark, fields=fields, until=next_day))
    [record] = [r for p in pages for r in p.records if r.fields.get("refsync_id") == f"{prefix}d"]
    assert record.fields["associations.companies"] == f"{prefix}00001"  # K2 only, K1 gone
    assert pages[-1].bookmark["reconciled_at"] == _ms(next_day)
    assert pages[-1].bookmark["ts"] >= bookmark["ts"]
    deals = len(hsc.records("deals"))
    assert reader.transport.calls["objects_basic.get_page"] >= -(-deals // 100)

    hsc.set_now(next_day + timedelta(hours=1))  # reconciled: the next run is incremental only
    later_run = connector_for(hsc)
    until = next_day + timedelta(hours=1)
    list(later_run.read("deals", since=pages[-1].bookmark, fields=fields, until=until))
    assert later_run.transport.calls["objects_basic.get_page"] == 1  # the archived listing


def test_e3_two_runs_creating_the_same_new_records_at_once_make_each_record_once(
    hsc: HubSpotSandbox,
) -> None:
    """E3: two writers (a re-run racing a slow run, two workers) create the same 150 new
    records at the same moment; upserts keyed by the canonical id make one HubSpot record
    each, and both writers get success with the same HubSpot id."""
    prefix = _prefix()
    records = companies(prefix, 150)
    barrier = threading.Barrier(2)

    def write() -> list:
        connector = connector_for(hsc)
        connector.describe("companies")
        barrier.wait()
        return connector.upsert("companies", records, key="refsync_id")

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = [f.result() for f in [pool.submit(write), pool.submit(write)]]
    assert all(r.ok for r in first + second)
    assert [r.id for r in first] == [r.id for r in second]
    mine = [
        r
        for r in hsc.records("companies")
        if str(r["properties"].get("refsync_id", "")).startswith(prefix)
    ]
    assert len(mine) == 150


def test_e6_an_email_differing_only_by_case_updates_the_contact_that_holds_it(
    hsc: HubSpotSandbox,
) -> None:
    """E6: HubSpot compares e-mail case-insensitively: a clinician whose address differs
    only by case adopts the contact holding it (no near-duplicate), and a second canonical
    clinician with that address is one rejected record, not a second contact."""
    prefix = _prefix()
    address = f"{prefix}jane.doe@clinic.example"
    [existing] = hsc.insert("contacts", [{"email": address, "lastname": "Doe"}])
    shouting = address.replace("jane.doe@clinic", "Jane.Doe@Clinic").upper()
    records = [
        {"refsync_id": f"{prefix}c1", "email": shouting, "lastname": "Doe"},
        {"refsync_id": f"{prefix}c2", "email": address.title(), "lastname": "Other"},
    ]
    adopted, refused = connector_for(hsc).upsert("contacts", records, key="refsync_id")
    assert adopted.ok and adopted.id == existing and adopted.created is False
    assert not refused.ok and refused.error is not None
    assert refused.error.code == "DUPLICATE_VALUE" and refused.key == f"{prefix}c2"
    holders = [
        r
        for r in hsc.records("contacts")
        if str(r["properties"].get("email", "")).lower() == address.lower()
    ]
    assert [h["id"] for h in holders] == [existing]


@pytest.mark.parametrize("template", ["hubspot", "salesforce"])
def test_e6_the_shipped_mappings_trim_and_lowercase_email_before_any_match(template: str) -> None:
    """E6: surrounding spaces and case never reach a CRM: the shipped clinician mappings
    send e-mail through strip and lower."""
    text = (TEMPLATES / f"{template}.yaml").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if "canonical: email," in line]
    assert lines and all("transforms: [strip, lower]" in line for line in lines)


def test_d3_a_merged_contact_is_followed_to_its_survivor_and_never_created_again(
    hsc: HubSpotSandbox,
) -> None:
    """D3: a HubSpot user merges refsync's contact into their own duplicate, then merges that
    into a third (a chain). The old ids read as the survivor, which lists them in
    hs_merged_object_ids; refsync's next updates land on the survivor (the engine re-links
    to the id returned) and no new contact is ever created."""
    prefix = _prefix()
    connector = connector_for(hsc)
    mine = {"refsync_id": f"{prefix}k2", "email": f"{prefix}k2@clinic.example", "lastname": "Lee"}
    [created] = connector.upsert("contacts", [mine], key="refsync_id")
    first, second = hsc.insert(
        "contacts",
        [
            {"email": f"{prefix}own@clinic.example", "lastname": "Lee"},
            {"email": f"{prefix}third@clinic.example", "lastname": "Lee"},
        ],
    )
    contacts = hsc.make_client().crm.contacts
    contacts.basic_api.merge({"primaryObjectId": first, "objectIdToMerge": created.id})
    again = connector_for(hsc).upsert("contacts", [{**mine, "lastname": "Lee-Park"}],
                                      key="refsync_id")  # fmt: skip
    assert (again[0].id, again[0].created) == (first, False)

    contacts.basic_api.merge({"primaryObjectId": second, "objectIdToMerge": first})
    survivor = contacts.basic_api.get_by_id(created.id, properties=["hs_merged_object_ids"])
    assert survivor.id == second
    merged = set(survivor.properties["hs_merged_object_ids"].split(";"))
    assert merged == {created.id, first}
    [last] = connector_for(hsc).upsert("contacts", [{**mine, "lastname": "Park"}],
                                       key="refsync_id")  # fmt: skip
    assert (last.id, last.created) == (second, False)
    holders = [
        r
        for r in hsc.records("contacts")
        if str(r["properties"].get("email", "")).startswith(prefix)
    ]
    assert [(h["id"], h["properties"]["refsync_id"], h["properties"]["lastname"])
            for h in holders] == [(second, f"{prefix}k2", "Park")]  # fmt: skip
