"""Writing refsync ids back onto records created outside refsync, through the real clients."""

from __future__ import annotations

from hubspot_support import connector_for, hs, hubspot_sandbox  # noqa: F401
from sf_support import make_connector, sandbox, sf_sandbox  # noqa: F401

from connectors.sandbox.hubspot import HubSpotSandbox
from connectors.sandbox.salesforce import SalesforceSandbox


def test_salesforce_accounts_get_their_canonical_id_by_salesforce_id(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    ids = sandbox.insert("Account", [{"Name": "A"}, {"Name": "B"}])
    connector = make_connector(sandbox)
    calls = sandbox.stats.write_calls
    results = connector.backfill_keys(
        "Account",
        [(ids[0], "par_a"), ("001Dn00000000ZZZAA", "par_x"), (ids[1], "par_b")],
        key="Refsync_Id__c",
    )
    assert [(r.key, r.ok) for r in results] == [("par_a", True), ("par_x", False), ("par_b", True)]
    assert results[1].error is not None and results[1].error.key == "par_x"
    assert sandbox.stats.write_calls - calls == 1  # one collections call for the three
    keys = {r["Id"]: r.get("Refsync_Id__c") for r in sandbox.records("Account")}
    assert keys == {ids[0]: "par_a", ids[1]: "par_b"}


def test_hubspot_companies_and_meetings_get_their_canonical_id_by_hubspot_id(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    company = hs.insert("companies", [{"name": "Outside refsync"}])[0]
    meeting = hs.insert(
        "meetings", [{"hs_timestamp": "2026-11-20T15:00:00Z", "hs_meeting_title": "Visit"}]
    )[0]
    connector = connector_for(hs)
    done = connector.backfill_keys("companies", [(company, "par_c")], key="refsync_id")
    assert [r.ok for r in done] == [True]
    done = connector.backfill_keys(
        "engagements", [(meeting, "out_m"), ("999999999", "out_x")], key="refsync_id"
    )
    assert [(r.key, r.ok) for r in done] == [("out_m", True), ("out_x", False)]
    props = {r["id"]: r["properties"].get("refsync_id") for r in hs.records("meetings")}
    assert props[meeting] == "out_m"
    assert {r["id"]: r["properties"].get("refsync_id") for r in hs.records("companies")}[
        company
    ] == "par_c"
