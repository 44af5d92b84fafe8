"""HubSpot writes through the real client against the sandbox: batches, partial failures,
dropped connections, deal stages, associations, engagements, archive."""

from __future__ import annotations

import math
import uuid

from hubspot_support import companies, connector_for, hs, hubspot_sandbox  # noqa: F401

from connectors.sandbox.hubspot import HubSpotSandbox
from mapping.errors import RecordRejected


def _prefix() -> str:
    return f"w{uuid.uuid4().hex[:8]}-"


def _mine(hs: HubSpotSandbox, object_type: str, prefix: str) -> list[dict]:  # noqa: F811
    return [
        r
        for r in hs.records(object_type)
        if str(r["properties"].get("refsync_id", "")).startswith(prefix)
    ]


def test_upserting_n_records_costs_one_batch_call_per_hundred(hs: HubSpotSandbox) -> None:  # noqa: F811
    connector, prefix = connector_for(hs), _prefix()
    for n in (1, 100, 101, 250):
        before = connector.transport.calls["objects_batch.upsert"]
        results = connector.upsert("companies", companies(f"{prefix}{n}-", n), key="refsync_id")
        assert all(r.ok for r in results)
        assert connector.transport.calls["objects_batch.upsert"] - before == math.ceil(n / 100)


def test_second_upsert_of_unchanged_records_creates_no_new_records(hs: HubSpotSandbox) -> None:  # noqa: F811
    connector, prefix = connector_for(hs), _prefix()
    records = companies(prefix, 120)
    first = connector.upsert("companies", records, key="refsync_id")
    second = connector.upsert("companies", records, key="refsync_id")
    assert [r.id for r in first] == [r.id for r in second]
    assert {r.created for r in first} == {True} and {r.created for r in second} == {False}
    assert len(_mine(hs, "companies", prefix)) == 120


def test_one_invalid_record_in_a_batch_of_100_leaves_the_other_99_written(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: F1."""
    connector, prefix = connector_for(hs), _prefix()
    records = companies(prefix, 100, refsync_partner_kind="hospital")
    records[57]["refsync_partner_kind"] = "CANARY-DX-Z99.89"
    results = connector.upsert("companies", records, key="refsync_id")
    assert [r.key for r in results] == [r["refsync_id"] for r in records]
    failed = [r for r in results if not r.ok]
    assert [f.key for f in failed] == [records[57]["refsync_id"]]
    error = failed[0].error
    assert isinstance(error, RecordRejected)
    assert error.key == records[57]["refsync_id"] and error.code == "INVALID_OPTION"
    assert error.field == "refsync_partner_kind"
    assert "CANARY" not in str(error)  # the rejected value never reaches messages
    assert len(_mine(hs, "companies", prefix)) == 99


def test_duplicate_keys_in_one_call_are_sent_once_and_the_last_values_win(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    connector, prefix = connector_for(hs), _prefix()
    records = [
        {"refsync_id": f"{prefix}a", "name": "first"},
        {"refsync_id": f"{prefix}b", "name": "other"},
        {"refsync_id": f"{prefix}a", "name": "last"},
    ]
    results = connector.upsert("companies", records, key="refsync_id")
    assert [r.key for r in results] == [f"{prefix}a", f"{prefix}b", f"{prefix}a"]
    assert results[0].id == results[2].id
    stored = {r["properties"]["refsync_id"]: r for r in _mine(hs, "companies", prefix)}
    assert stored[f"{prefix}a"]["properties"]["name"] == "last"


def test_dropped_connection_after_a_committed_batch_write_loses_and_duplicates_nothing(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: A2, E1."""
    connector, prefix = connector_for(hs), _prefix()
    hs.faults.drop_next_writes(1)
    results = connector.upsert("companies", companies(prefix, 150), key="refsync_id")
    assert all(r.ok for r in results)
    assert connector.transport.retried >= 1
    assert connector.transport.calls["objects_batch.upsert"] == 3  # 2 batches + 1 retry
    stored = _mine(hs, "companies", prefix)
    assert len(stored) == 150
    assert len({r["id"] for r in stored}) == 150


def test_deal_stage_is_written_as_the_stage_id_of_the_referrals_pipeline(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    connector, prefix = connector_for(hs), _prefix()
    record = {"refsync_id": f"{prefix}d", "dealname": "Referral 1", "dealstage": "Intake Received"}
    [result] = connector.upsert("deals", [record], key="refsync_id")
    assert result.ok
    pipeline = connector.pipelines.pipeline("Referrals")
    [stored] = _mine(hs, "deals", prefix)
    assert stored["properties"]["pipeline"] == pipeline.id
    assert stored["properties"]["dealstage"] == pipeline.stages["Intake Received"]
    assert stored["properties"]["dealstage"] != "Intake Received"


def test_an_unknown_stage_label_rejects_only_that_deal(hs: HubSpotSandbox) -> None:  # noqa: F811
    """Failure catalogue: H2."""
    connector, prefix = connector_for(hs), _prefix()
    records = [
        {"refsync_id": f"{prefix}ok", "dealname": "A", "dealstage": "Scheduled"},
        {"refsync_id": f"{prefix}bad", "dealname": "B", "dealstage": "Teleported"},
    ]
    ok, bad = connector.upsert("deals", records, key="refsync_id")
    assert ok.ok and not bad.ok
    assert bad.error is not None and bad.error.code == "INVALID_STAGE"


def test_associations_are_written_by_canonical_id_and_stale_links_removed(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    connector, prefix = connector_for(hs), _prefix()
    connector.upsert("companies", companies(prefix, 2), key="refsync_id")
    company_ids = {r["properties"]["refsync_id"]: r["id"] for r in _mine(hs, "companies", prefix)}
    deal = {
        "refsync_id": f"{prefix}deal",
        "dealname": "Referral",
        "dealstage": "Referred",
        "associations.companies": f"{prefix}00000",
    }
    [first] = connector.upsert("deals", [deal], key="refsync_id")
    assert first.ok
    assert hs.associations("deals", first.id, "companies") == [company_ids[f"{prefix}00000"]]
    deal["associations.companies"] = f"{prefix}00001"
    [second] = connector.upsert("deals", [deal], key="refsync_id")
    assert second.ok and second.id == first.id
    assert hs.associations("deals", first.id, "companies") == [company_ids[f"{prefix}00001"]]


def test_an_association_to_an_unknown_target_fails_that_record_only(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    connector, prefix = connector_for(hs), _prefix()
    deals = [
        {"refsync_id": f"{prefix}1", "dealname": "A", "associations.companies": "no-such-partner"},
        {"refsync_id": f"{prefix}2", "dealname": "B"},
    ]
    bad, good = connector.upsert("deals", deals, key="refsync_id")
    assert good.ok
    assert bad.error is not None and bad.error.code == "ASSOCIATION_TARGET_MISSING"
    assert bad.error.field == "associations.companies"


def test_outreach_engagements_are_routed_by_kind_with_their_associations(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    connector, prefix = connector_for(hs), _prefix()
    connector.upsert("companies", companies(prefix, 1), key="refsync_id")
    common = {"hs_timestamp": "1710077400000", "associations.companies": f"{prefix}00000"}
    records = [
        {"refsync_id": f"{prefix}v", "refsync_outreach_kind": "visit",
         "hs_meeting_title": "Visit", "hs_call_title": "Visit", "hs_note_body": "n", **common},
        {"refsync_id": f"{prefix}c", "refsync_outreach_kind": "call",
         "hs_meeting_title": "Call", "hs_call_title": "Call", "hs_note_body": "n", **common},
        {"refsync_id": f"{prefix}e", "refsync_outreach_kind": "email",
         "hs_meeting_title": "Mail", "hs_call_title": "Mail", "hs_note_body": "n", **common},
    ]  # fmt: skip
    results = connector.upsert("engagements", records, key="refsync_id")
    assert all(r.ok for r in results), [r.error for r in results]
    assert [r["properties"]["hs_meeting_title"] for r in _mine(hs, "meetings", prefix)] == ["Visit"]
    assert [r["properties"]["hs_call_title"] for r in _mine(hs, "calls", prefix)] == ["Call"]
    assert len(_mine(hs, "notes", prefix)) == 1
    company = _mine(hs, "companies", prefix)[0]["id"]
    assert hs.associations("calls", results[1].id, "companies") == [company]
    pages = list(
        connector.read(
            "engagements",
            since=None,
            fields=["refsync_id", "hs_meeting_title", "associations.companies"],
        )
    )
    read = {
        r.fields["refsync_id"]: r.fields
        for p in pages
        for r in p.records
        if str(r.fields.get("refsync_id", "")).startswith(prefix)
    }
    assert read[f"{prefix}c"]["hs_meeting_title"] == "Call"  # title alias filled
    assert read[f"{prefix}c"]["associations.companies"] == f"{prefix}00000"


def test_archive_resolves_keys_and_archives_in_batches(hs: HubSpotSandbox) -> None:  # noqa: F811
    connector, prefix = connector_for(hs), _prefix()
    records = companies(prefix, 150)
    connector.upsert("companies", records, key="refsync_id")
    keys = [r["refsync_id"] for r in records[:120]]
    results = connector.archive("companies", keys, key="refsync_id")
    assert [r.key for r in results] == keys and all(r.ok for r in results)
    assert connector.transport.calls["objects_batch.archive"] == 2
    assert len(_mine(hs, "companies", prefix)) == 30


def test_a_contact_whose_email_another_record_holds_is_adopted_not_duplicated(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: E2."""
    connector, prefix = connector_for(hs), _prefix()
    email = f"{prefix}jane@clinic.example"
    [existing] = hs.insert("contacts", [{"email": email, "lastname": "Doe"}])
    records = [
        {"refsync_id": f"{prefix}c1", "email": email, "lastname": "Doe-Smith"},
        {"refsync_id": f"{prefix}c2", "email": f"{prefix}other@clinic.example", "lastname": "X"},
    ]
    adopted, created = connector.upsert("contacts", records, key="refsync_id")
    assert adopted.ok and adopted.id == existing and adopted.created is False
    assert created.ok and created.created is True
    holders = [r for r in hs.records("contacts") if r["properties"].get("email") == email]
    assert len(holders) == 1
    assert holders[0]["properties"]["refsync_id"] == f"{prefix}c1"
    assert holders[0]["properties"]["lastname"] == "Doe-Smith"


def test_a_unique_value_held_by_another_synced_record_is_rejected_not_taken_over(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: E6."""
    connector, prefix = connector_for(hs), _prefix()
    records = [
        {"refsync_id": f"{prefix}{i:03d}", "lastname": "L", "email": f"{prefix}{i}@x.example"}
        for i in range(100)
    ]
    records[70]["email"] = records[10]["email"]  # two canonical clinicians, one email
    results = connector.upsert("contacts", records, key="refsync_id")
    failed = [r for r in results if not r.ok]
    assert [f.key for f in failed] == [records[70]["refsync_id"]]
    assert failed[0].error is not None and failed[0].error.code == "DUPLICATE_VALUE"
    mine = {
        r["properties"]["refsync_id"]
        for r in hs.records("contacts")
        if str(r["properties"].get("refsync_id", "")).startswith(prefix)
    }
    assert len(mine) == 99 and records[10]["refsync_id"] in mine


def test_a_batch_refused_whole_for_one_input_is_split_until_the_other_99_land(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: F1."""
    from connectors.hubspot.writes import BatchWriter, Input

    connector, prefix = connector_for(hs), _prefix()
    # Without objectWriteTraceIds HubSpot fails the whole batch (400) for one bad input.
    writer = BatchWriter(connector.transport, "companies", trace_ids=False)
    inputs = [
        Input(i, f"{prefix}{i:03d}", {"name": "C", "refsync_partner_kind": "hospital"})
        for i in range(100)
    ]
    inputs[57] = Input(57, f"{prefix}057", {"name": "C", "refsync_partner_kind": "bogus"})
    results = writer.upsert(inputs, "refsync_id")
    assert [i for i, r in sorted(results.items()) if not r.ok] == [57]
    assert results[57].error is not None and results[57].error.key == f"{prefix}057"
    assert len(_mine(hs, "companies", prefix)) == 99
    # 1 refused call, then halves down to the bad input: at most 2*log2(100) more calls
    assert connector.transport.calls["objects_batch.upsert"] <= 1 + 14
