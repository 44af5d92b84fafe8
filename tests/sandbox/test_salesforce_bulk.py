"""Bulk API 2.0 through the real ``sf.bulk2``: ingest jobs, results CSVs, query locator paging."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce.exceptions import SalesforceOperationError


@pytest.fixture
def sf(sf_sandbox):
    return sf_sandbox.make_client()


def test_bulk_insert_reports_successful_and_failed_rows(sf_sandbox, sf):
    [job] = sf.bulk2.Contact.insert(
        records=[
            {"LastName": "A", "Refsync_Id__c": "c-1"},
            {"LastName": "", "Refsync_Id__c": "c-2"},
        ],
        wait=0,
    )
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (2, 1)
    results = sf.bulk2.Contact.get_all_ingest_records(job["job_id"])
    [ok] = results["successfulRecords"]
    assert ok["sf__Created"] == "true" and ok["sf__Id"].startswith("003")
    [failed] = results["failedRecords"]
    assert (
        failed["sf__Error"]
        == "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"
    )
    assert [r["LastName"] for r in sf_sandbox.records("Contact")] == ["A"]


def test_bulk_upsert_matches_on_the_external_id_and_resolves_relationship_columns(sf_sandbox, sf):
    [partner] = sf_sandbox.insert("Account", [{"Name": "P", "Refsync_Id__c": "p-1"}])
    sf_sandbox.insert("Referral__c", [{"Refsync_Id__c": "r-1", "Stage__c": "Referred"}])
    rows = [
        {"Refsync_Id__c": "r-1", "Stage__c": "Accepted", "Partner__r.Refsync_Id__c": "p-1"},
        {"Refsync_Id__c": "r-2", "Stage__c": "Scheduled", "Partner__r.Refsync_Id__c": "p-1"},
        {"Refsync_Id__c": "r-3", "Stage__c": "Bogus", "Partner__r.Refsync_Id__c": "p-1"},
    ]
    [job] = sf.bulk2.Referral__c.upsert(records=rows, external_id_field="Refsync_Id__c", wait=0)
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (3, 1)
    ok = sf.bulk2.Referral__c.get_all_ingest_records(job["job_id"])["successfulRecords"]
    assert [(r["Refsync_Id__c"], r["sf__Created"]) for r in ok] == [
        ("r-1", "false"),
        ("r-2", "true"),
    ]
    stored = {r["Refsync_Id__c"]: r for r in sf_sandbox.records("Referral__c")}
    assert stored["r-1"]["Stage__c"] == "Accepted" and stored["r-1"]["Partner__c"] == partner
    assert "r-3" not in stored


def test_an_unknown_column_fails_the_whole_job(sf):
    with pytest.raises(SalesforceOperationError, match="Field name not found : Nope__c"):
        sf.bulk2.Contact.insert(records=[{"LastName": "A", "Nope__c": "x"}], wait=0)


def test_ingest_job_polls_in_progress_before_job_complete(sf_sandbox, sf):
    sf.bulk2.Contact.insert(records=[{"LastName": "A"}], wait=0)
    calls = sf_sandbox.stats.calls
    assert calls["POST jobs/ingest"] == 1 and calls["PUT jobs/ingest batches"] == 1
    assert calls["PATCH jobs/ingest"] == 1
    assert calls["GET jobs/ingest"] == 3  # InProgress, JobComplete, then the final read


def test_bulk_query_pages_with_sforce_locator_until_null(sf_sandbox, sf):
    """Failure catalogue: B3."""
    sf_sandbox.insert("Account", [{"Name": f"A{i:03d}", "Tier__c": str(i % 3)} for i in range(25)])
    pages = list(
        sf.bulk2.Account.query(
            "SELECT Name, Tier__c FROM Account ORDER BY Name", max_records=10, wait=0
        )
    )
    assert len(pages) == 3
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert [r["Name"] for r in rows] == [f"A{i:03d}" for i in range(25)]
    assert sf_sandbox.stats.calls["GET jobs/query results"] == 3


def test_bulk_query_all_includes_deleted_rows(sf_sandbox, sf):
    ids = sf_sandbox.insert("Account", [{"Name": "A"}, {"Name": "B"}])
    sf.Account.delete(ids[0])
    live = "".join(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0))
    every = "".join(sf.bulk2.Account.query_all("SELECT Id, IsDeleted FROM Account", wait=0))
    assert ids[0] not in live
    assert f'"{ids[0]}","true"' in every


def test_polymorphic_columns_name_the_target_type(sf_sandbox, sf):
    [referral] = sf_sandbox.insert("Referral__c", [{"Refsync_Id__c": "r-1"}])
    rows = [{"Refsync_Id__c": "t-1", "Subject": "Call", "Referral__c:What.Refsync_Id__c": "r-1"}]
    [job] = sf.bulk2.Task.upsert(records=rows, external_id_field="Refsync_Id__c", wait=0)
    assert job["numberRecordsFailed"] == 0
    assert sf_sandbox.records("Task")[0]["WhatId"] == referral
