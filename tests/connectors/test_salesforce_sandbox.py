"""Salesforce connector behaviour against the sandbox, through the real simple-salesforce client:
call counts, Bulk 2.0, idempotency under dropped connections, incremental reads across a
crash, auth flows and describe."""

from __future__ import annotations

import math

import pytest
from sf_support import (  # noqa: F401
    Sleeps,
    ids_read,
    make_connector,
    referral,
    sandbox,
    settings_for,
    sf_sandbox,
)

from connectors.salesforce import SalesforceConnector
from connectors.sandbox import SalesforceSandbox
from mapping.errors import RecordRejected, SchemaMismatch

KEY = "Refsync_Id__c"
UPSERT = "PATCH composite/sobjects upsert"


def _keys(n: int, tag: str = "r") -> list[str]:
    return [f"{tag}-{i:06d}" for i in range(n)]


# -- auth ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flow", ["jwt", "client_credentials", "password", "oauth_password", "token"]
)
def test_every_auth_flow_logs_in_to_the_sandbox(sandbox: SalesforceSandbox, flow: str) -> None:  # noqa: F811
    values: dict[str, object] = {
        "jwt": {},
        "client_credentials": {
            "auth": "client_credentials",
            "client_secret": sandbox.client_secret,
        },
        "password": {
            "auth": "password",
            "password": sandbox.password,
            "security_token": sandbox.security_token,
        },
        "oauth_password": {
            "auth": "password",
            "password": sandbox.password,
            "client_secret": sandbox.client_secret,
        },
        "token": {
            "auth": "token",
            "access_token": sandbox.session_id,
            "instance_url": sandbox.instance_url,
        },
    }[flow]
    connector = SalesforceConnector(settings_for(sandbox, **values))
    connector.check()
    assert connector.quota.total == 5_000_000


# -- describe ------------------------------------------------------------------------------


def test_describe_reports_types_picklists_external_ids_and_lookup_paths(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    schema = make_connector(sandbox).describe("Referral__c")
    stage = schema.fields["Stage__c"]
    assert stage.type == "picklist" and stage.restricted_picklist
    assert "Intake Received" in stage.picklist_values
    assert schema.fields[KEY].external_id and schema.fields[KEY].unique
    assert schema.fields["Partner__c"].reference_to == ("Account",)
    assert schema.fields["Partner__r.Refsync_Id__c"].reference_to == ("Account",)
    assert not schema.fields["SystemModstamp"].updateable


def test_a_field_the_user_cannot_see_is_named_in_a_schema_mismatch(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: G1."""
    connector = make_connector(sandbox)
    with pytest.raises(SchemaMismatch, match=r"Referral__c.*Secret_Notes__c.*field-level"):
        list(connector.read("Referral__c", since=None, fields=[KEY, "Secret_Notes__c"]))
    with pytest.raises(SchemaMismatch, match="Secret_Notes__c"):
        connector.upsert("Referral__c", [referral("r-1", Secret_Notes__c="x")], key=KEY)
    assert "GET queryAll" not in sandbox.stats.calls


def test_a_key_that_is_not_an_external_id_is_refused_before_writing(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    with pytest.raises(SchemaMismatch, match="not an External ID"):
        make_connector(sandbox).upsert("Referral__c", [referral("r-1")], key="Reason__c")


# -- writes --------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 200, 201, 450])
def test_upserting_n_records_costs_ceil_n_over_200_collection_calls(
    sandbox: SalesforceSandbox,  # noqa: F811
    count: int,
) -> None:
    connector = make_connector(sandbox)
    results = connector.upsert("Referral__c", [referral(k) for k in _keys(count)], key=KEY)
    assert [r.key for r in results] == _keys(count)
    assert all(r.ok and r.created for r in results)
    assert sandbox.stats.calls[UPSERT] == math.ceil(count / 200)
    assert len(sandbox.records("Referral__c")) == count


def test_above_the_bulk_threshold_one_bulk_job_writes_everything(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    connector = make_connector(sandbox, bulk_threshold=100, bulk_poll_seconds=0)
    keys = _keys(250)
    results = connector.upsert("Referral__c", [referral(k) for k in keys], key=KEY)
    assert [r.key for r in results] == keys
    assert all(r.ok and r.created and r.id for r in results)
    calls = sandbox.stats.calls
    assert calls["POST jobs/ingest"] == 1 and calls["PUT jobs/ingest batches"] == 1
    assert UPSERT not in calls
    assert len(connector.bulk_jobs) == 1
    assert len(sandbox.records("Referral__c")) == 250


def test_bulk_failed_rows_come_back_as_record_errors_matched_by_key(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: F2."""
    connector = make_connector(sandbox, bulk_threshold=10, bulk_poll_seconds=0)
    keys = _keys(30)
    records = [referral(k) for k in keys]
    records[7]["Stage__c"] = "Not A Stage"
    records[20]["Partner__r.Refsync_Id__c"] = "no-such-partner"
    results = connector.upsert("Referral__c", records, key=KEY)
    assert [r.key for r in results] == keys
    failed = {i: r.error for i, r in enumerate(results) if r.error}
    assert sorted(failed) == [7, 20]
    assert isinstance(failed[7], RecordRejected) and failed[7].field == "Stage__c"
    assert failed[7].key == keys[7] and failed[20].key == keys[20]
    assert len(sandbox.records("Referral__c")) == 28


def test_bulk_results_with_quoted_line_breaks_and_accents_match_every_record(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """The result files echo each row's cells: a quoted cell spanning lines is one row."""
    connector = make_connector(sandbox, bulk_threshold=10, bulk_poll_seconds=0)
    keys = _keys(25)
    reason = 'pain after "surgery",\nreferred from Zürich\r\nagain'
    records = [referral(k, Reason__c=reason) for k in keys]
    results = connector.upsert("Referral__c", records, key=KEY)
    assert [r.key for r in results] == keys
    assert all(r.ok and r.created and r.id for r in results)
    assert len(sandbox.records("Referral__c")) == 25


def test_a_bulk_upsert_of_the_same_records_creates_nothing_new(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    connector = make_connector(sandbox, bulk_threshold=10, bulk_poll_seconds=0)
    records = [referral(k) for k in _keys(40)]
    first = connector.upsert("Referral__c", records, key=KEY)
    second = connector.upsert("Referral__c", records, key=KEY)
    assert [r.id for r in second] == [r.id for r in first]
    assert all(r.created is False for r in second)
    assert len(sandbox.records("Referral__c")) == 40


def test_lookups_travel_as_external_ids_nested_or_dotted(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    connector = make_connector(sandbox)
    connector.upsert("Account", [{KEY: "p-1", "Name": "Lakeside Family Practice"}], key=KEY)
    connector.upsert(
        "Referral__c",
        [
            referral("r-1", Partner__r={KEY: "p-1"}),
            referral("r-2", **{"Partner__r.Refsync_Id__c": "p-1"}),
        ],
        key=KEY,
    )
    account_id = sandbox.records("Account")[0]["Id"]
    assert {r["Partner__c"] for r in sandbox.records("Referral__c")} == {account_id}
    sandbox.advance(1)
    pages = list(
        connector.read("Referral__c", since=None, fields=[KEY, "Partner__r.Refsync_Id__c"])
    )
    assert {r.fields["Partner__r.Refsync_Id__c"] for r in pages[0].records} == {"p-1"}


def test_external_ids_with_slashes_and_unicode_match_the_same_record_twice(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: E4."""
    keys = ["REF/2024/001", "100%", "a b#c", "Müller-Łódź", "00042"]
    connector = make_connector(sandbox)
    first = connector.upsert("Referral__c", [referral(k) for k in keys], key=KEY)
    second = connector.upsert("Referral__c", [referral(k) for k in keys], key=KEY)
    assert [r.id for r in first] == [r.id for r in second]
    assert sorted(r[KEY] for r in sandbox.records("Referral__c")) == sorted(keys)


def test_archive_deletes_by_key_with_one_query_and_one_delete_per_200(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    connector = make_connector(sandbox)
    keys = _keys(250)
    connector.upsert("Referral__c", [referral(k) for k in keys], key=KEY)
    results = connector.archive("Referral__c", keys[:210], key=KEY)
    assert [r.key for r in results] == keys[:210] and all(r.ok for r in results)
    assert sandbox.stats.calls["DELETE composite/sobjects"] == 2
    assert len(sandbox.records("Referral__c")) == 40


# -- SOQL safety ---------------------------------------------------------------------------


def test_a_field_name_carrying_soql_is_refused_before_any_query(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    connector = make_connector(sandbox)
    with pytest.raises(SchemaMismatch):
        list(connector.read("Referral__c", since=None, fields=["Name FROM User --"]))
    assert "GET queryAll" not in sandbox.stats.calls


def test_keys_with_quotes_are_archived_through_format_soql(sandbox: SalesforceSandbox) -> None:  # noqa: F811
    """Failure catalogue: H5."""
    keys = ["o'brien", "back\\slash", "a' OR Name != '"]
    connector = make_connector(sandbox)
    connector.upsert("Referral__c", [referral(k) for k in [*keys, "keep"]], key=KEY)
    results = connector.archive("Referral__c", keys, key=KEY)
    assert all(r.ok and r.id for r in results)
    assert [r[KEY] for r in sandbox.records("Referral__c")] == ["keep"]


def test_an_object_name_that_is_not_an_api_name_never_reaches_the_api(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    connector = make_connector(sandbox)
    with pytest.raises(SchemaMismatch, match="not a Salesforce object API name"):
        connector.upsert("../limits", [referral("r-1")], key=KEY)
    assert sandbox.stats.calls.keys() <= {"POST oauth2/token"}


def test_close_releases_the_session_and_the_connector_can_be_used_again(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    connector = make_connector(sandbox)
    connector.check()
    connector.close()
    connector.check()
    assert sandbox.stats.calls["POST oauth2/token"] == 2


def test_backfilled_keys_land_on_records_created_outside_refsync_in_one_call_per_200(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    ids = sandbox.insert("Account", [{"Name": f"Practice {i}"} for i in range(250)])
    pairs = [(record_id, f"p-{i}") for i, record_id in enumerate(ids)]
    pairs.append(("001000000000000AAA", "p-gone"))
    results = make_connector(sandbox).backfill_keys("Account", pairs, key=KEY)
    assert [r.key for r in results] == [canonical for _, canonical in pairs]
    assert all(r.ok for r in results[:250]) and not results[250].ok
    assert sandbox.stats.calls["PATCH composite/sobjects"] == 2
    assert {a[KEY] for a in sandbox.records("Account")} == {f"p-{i}" for i in range(250)}
