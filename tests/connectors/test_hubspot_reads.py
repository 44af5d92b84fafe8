"""HubSpot reads through the real client: call budgets, associations, stage labels, tombstones."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from hubspot_support import companies, connector_for, hs, hubspot_sandbox  # noqa: F401

from connectors.hubspot.search import modified_property
from connectors.sandbox.hubspot import HubSpotSandbox


def _prefix() -> str:
    return f"r{uuid.uuid4().hex[:8]}-"


def _mine(pages: list, prefix: str) -> dict[str, object]:
    return {
        str(r.fields.get("refsync_id")): r
        for p in pages
        for r in p.records
        if str(r.fields.get("refsync_id", "")).startswith(prefix)
    }


def test_contacts_page_on_lastmodifieddate_and_other_objects_on_hs_lastmodifieddate() -> None:
    """Failure catalogue: D4."""
    assert modified_property("contacts") == "lastmodifieddate"
    for object_type in ("companies", "deals", "meetings", "p_referral_definitions"):
        assert modified_property(object_type) == "hs_lastmodifieddate"


def test_1000_changes_are_read_incrementally_in_at_most_7_calls(hs: HubSpotSandbox) -> None:  # noqa: F811
    writer, prefix = connector_for(hs), _prefix()
    writer.upsert("companies", companies(prefix, 1000), key="refsync_id")
    time.sleep(1.2)  # the sandbox stamps ahead of wall time by 1 ms per write
    bookmark = {"ts": int(datetime.now(UTC).timestamp() * 1000), "id": None}
    changed = companies(prefix, 1000)
    for record in changed:
        record["name"] += " (changed)"
    writer.upsert("companies", changed, key="refsync_id")
    reader = connector_for(hs)  # fresh: its describe (1 call) is counted too
    # until a little ahead: the sandbox stamps each write 1 ms after the previous one
    until = datetime.now(UTC) + timedelta(seconds=5)
    pages = list(
        reader.read("companies", since=bookmark, fields=["refsync_id", "name"], until=until)
    )
    mine = _mine(pages, prefix)
    assert len(mine) == 1000
    assert all(str(r.fields["name"]).endswith("(changed)") for r in mine.values())
    assert reader.transport.total_calls <= 7, reader.transport.calls


def test_deals_read_with_stage_labels_and_canonical_association_ids(hs: HubSpotSandbox) -> None:  # noqa: F811
    connector, prefix = connector_for(hs), _prefix()
    connector.upsert("companies", companies(prefix, 1), key="refsync_id")
    connector.upsert(
        "contacts",
        [
            {
                "refsync_id": f"{prefix}doc",
                "lastname": "Doe",
                "associations.companies": f"{prefix}00000",
            }
        ],
        key="refsync_id",
    )
    deal = {
        "refsync_id": f"{prefix}deal",
        "dealname": "Referral",
        "dealstage": "Scheduled",
        "associations.companies": f"{prefix}00000",
        "associations.contacts": f"{prefix}doc",
    }
    assert connector.upsert("deals", [deal], key="refsync_id")[0].ok
    reader = connector_for(hs)
    fields = [
        "refsync_id",
        "dealstage",
        "pipeline",
        "associations.companies",
        "associations.contacts",
    ]
    record = _mine(list(reader.read("deals", since=None, fields=fields)), prefix)[f"{prefix}deal"]
    assert record.fields["dealstage"] == "Scheduled"
    assert record.fields["pipeline"] == "Referrals"
    assert record.fields["associations.companies"] == f"{prefix}00000"
    assert record.fields["associations.contacts"] == f"{prefix}doc"
    contact = _mine(
        list(reader.read("contacts", since=None, fields=["refsync_id", "associations.companies"])),
        prefix,
    )[f"{prefix}doc"]
    assert contact.fields["associations.companies"] == f"{prefix}00000"


def test_a_changed_association_shows_in_the_next_full_read(hs: HubSpotSandbox) -> None:  # noqa: F811
    connector, prefix = connector_for(hs), _prefix()
    connector.upsert("companies", companies(prefix, 2), key="refsync_id")
    deal = {"refsync_id": f"{prefix}d", "dealname": "R", "associations.companies": f"{prefix}00000"}
    [written] = connector.upsert("deals", [deal], key="refsync_id")
    other = [
        r["id"]
        for r in hs.records("companies")
        if r["properties"].get("refsync_id") == f"{prefix}00001"
    ]
    # Someone re-links the deal in HubSpot: no deal property (and no modified date) changes.
    client = hs.make_client()
    client.crm.associations.v4.batch_api.archive(
        "deals",
        "companies",
        {
            "inputs": [
                {
                    "from": {"id": written.id},
                    "to": [{"id": i} for i in hs.associations("deals", written.id, "companies")],
                }
            ]
        },
    )
    client.crm.associations.v4.batch_api.create_default(
        "deals", "companies", {"inputs": [{"from": {"id": written.id}, "to": {"id": other[0]}}]}
    )
    fields = ["refsync_id", "associations.companies"]
    record = _mine(list(connector_for(hs).read("deals", since=None, fields=fields)), prefix)[
        f"{prefix}d"
    ]
    assert record.fields["associations.companies"] == f"{prefix}00001"


def test_records_archived_since_the_bookmark_come_back_once_as_tombstones(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: D2."""
    connector, prefix = connector_for(hs), _prefix()
    written = connector.upsert("companies", companies(prefix, 3), key="refsync_id")
    time.sleep(1.1)
    bookmark = {"ts": int(datetime.now(UTC).timestamp() * 1000), "id": None}
    connector.archive("companies", [f"{prefix}00000"], key="refsync_id")
    time.sleep(0.05)
    until = datetime.now(UTC) + timedelta(seconds=5)
    pages = list(connector.read("companies", since=bookmark, fields=["refsync_id"], until=until))
    tombstones = [r for p in pages for r in p.records if r.deleted]
    assert [t.id for t in tombstones if t.id == written[0].id] == [written[0].id]
    again = list(connector.read("companies", since=pages[-1].bookmark, fields=["refsync_id"]))
    assert not [r for p in again for r in p.records if r.deleted and r.id == written[0].id]


def test_a_full_read_with_the_next_page_fetched_ahead_lists_each_page_once_and_resumes() -> None:
    with HubSpotSandbox() as box:
        ids = box.insert("companies", ({"name": f"C{i}"} for i in range(2_050)))
        reader = connector_for(box)
        pages = list(reader.read("companies", since=None, fields=["name"]))
        assert [len(p.records) for p in pages] == [1000, 1000, 50]
        assert sorted(r.id for p in pages for r in p.records) == sorted(map(str, ids))
        assert reader.transport.calls["objects_basic.get_page"] == 21
        assert [set(p.bookmark) >= {"full_after"} for p in pages] == [True, True, False]
        resumed = connector_for(box)
        rest = list(resumed.read("companies", since=pages[0].bookmark, fields=["name"]))
        assert sorted(r.id for p in rest for r in p.records) == sorted(
            r.id for p in pages[1:] for r in p.records
        )
        assert resumed.transport.calls["objects_basic.get_page"] == 11
