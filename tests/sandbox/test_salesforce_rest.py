"""The real simple-salesforce against the Salesforce sandbox: records, upsert, describe, limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.format import format_external_id

from connectors.sandbox.salesforce.schema import FieldDef, with_fields
from connectors.sandbox.salesforce.values import to_id18


@pytest.fixture
def sf(sf_sandbox):
    return sf_sandbox.make_client()


def test_create_answers_201_with_id_and_stamps_system_fields(sf_sandbox, sf):
    sf_sandbox.set_now(datetime(2024, 3, 1, 12, 30, 45, 678000, tzinfo=UTC))
    result = sf.Account.create({"Name": "Lakeside Clinic", "Refsync_Id__c": "p-1"})
    assert result["success"] is True and result["errors"] == []
    assert result["id"].startswith("001") and len(result["id"]) == 18
    record = sf.Account.get(result["id"])
    assert record["attributes"]["type"] == "Account"
    assert record["SystemModstamp"] == "2024-03-01T12:30:45.000+0000"
    assert record["CreatedDate"] == record["LastModifiedDate"] == record["SystemModstamp"]
    assert record["OwnerId"] == sf_sandbox.user_id
    assert record["IsDeleted"] is False


def test_update_answers_204_and_moves_system_modstamp(sf_sandbox, sf):
    sf_sandbox.set_now(datetime(2024, 3, 1, tzinfo=UTC))
    account_id = sf.Account.create({"Name": "A"})["id"]
    sf_sandbox.advance(90)
    assert sf.Account.update(account_id, {"Phone": "555-0100"}) == 204
    record = sf.Account.get(account_id)
    assert record["Phone"] == "555-0100"
    assert record["SystemModstamp"] == "2024-03-01T00:01:30.000+0000"
    assert record["CreatedDate"] == "2024-03-01T00:00:00.000+0000"


def test_get_of_unknown_or_deleted_record_raises_resource_not_found(sf):
    account_id = sf.Account.create({"Name": "A"})["id"]
    assert sf.Account.delete(account_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as deleted:
        sf.Account.get(account_id)
    assert deleted.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Account.get(to_id18("001Dn0000009999"))
    assert missing.value.content == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_malformed_id_raises_malformed_request(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.get("not-an-id")
    assert exc.value.content[0]["errorCode"] == "MALFORMED_ID"


def test_missing_required_field_answers_400_with_field_named(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"FirstName": "Ana"})
    assert exc.value.content == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]


def test_upsert_creates_with_201_then_updates_with_200_and_v46_body(sf):
    path = format_external_id("Refsync_Id__c", "ref/1+x")
    created = sf.Referral__c.upsert(path, {"Stage__c": "Referred"}, raw_response=True)
    assert created.status_code == 201
    assert created.json()["created"] is True
    updated = sf.Referral__c.upsert(path, {"Stage__c": "Accepted"}, raw_response=True)
    assert updated.status_code == 200
    assert updated.json() == {
        "id": created.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    record = sf.Referral__c.get_by_custom_id("Refsync_Id__c", "ref/1+x")
    assert record["Stage__c"] == "Accepted"
    assert record["Name"] == created.json()["id"]  # custom object Name defaults to the Id


def test_upsert_on_non_unique_external_id_with_two_matches_answers_300(sf_sandbox, sf):
    obj = sf_sandbox._org.store.object("Contact")
    sf_sandbox.define_object(
        with_fields(obj, FieldDef("NPI__c", "string", "NPI", length=10, external_id=True))
    )
    sf_sandbox.insert("Contact", [{"LastName": "A", "NPI__c": "1234567893"}] * 2)
    with pytest.raises(SalesforceMoreThanOneRecord) as exc:
        sf.Contact.upsert("NPI__c/1234567893", {"Title": "MD"})
    assert exc.value.status == 300
    assert len(exc.value.content) == 2
    assert all(
        url.startswith("/services/data/v62.0/sobjects/Contact/003") for url in exc.value.content
    )


def test_upsert_by_a_field_that_is_not_an_external_id_answers_404(sf):
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Account.upsert("Phone/555", {"Name": "x"})
    assert exc.value.content[0]["errorCode"] == "NOT_FOUND"


def test_nested_external_id_reference_resolves_to_the_lookup_id(sf):
    partner = sf.Account.create({"Name": "Partner", "Refsync_Id__c": "p-9"})["id"]
    sf.Referral__c.upsert(
        "Refsync_Id__c/r-1", {"Partner__r": {"Refsync_Id__c": "p-9"}, "Stage__c": "Referred"}
    )
    record = sf.Referral__c.get_by_custom_id("Refsync_Id__c", "r-1")
    assert record["Partner__c"] == partner
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Referral__c.upsert("Refsync_Id__c/r-2", {"Partner__r": {"Refsync_Id__c": "nope"}})
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "Foreign key external ID: nope not found" in exc.value.content[0]["message"]


def test_describe_reports_types_lengths_external_ids_and_restricted_picklists(sf):
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Account", "Contact", "Referral__c", "Task", "Event", "Opportunity"} <= names
    assert "Referral_Definition__c" in names
    fields = {f["name"]: f for f in sf.Referral__c.describe()["fields"]}
    assert fields["Refsync_Id__c"]["externalId"] is True and fields["Refsync_Id__c"]["unique"]
    assert fields["Refsync_Id__c"]["length"] == 64
    stage = fields["Stage__c"]
    assert stage["type"] == "picklist" and stage["restrictedPicklist"] is True
    assert [v["value"] for v in stage["picklistValues"]][:3] == [
        "Contacted",
        "Referred",
        "Intake Received",
    ]
    assert fields["Partner__c"]["referenceTo"] == ["Account"]
    assert fields["Partner__c"]["relationshipName"] == "Partner__r"
    assert fields["SystemModstamp"]["createable"] is False
    last_name = {f["name"]: f for f in sf.Contact.describe()["fields"]}["LastName"]
    assert (last_name["nillable"], last_name["createable"], last_name["defaultedOnCreate"]) == (
        False,
        True,
        False,
    )


def test_describe_of_unknown_sobject_raises_resource_not_found(sf):
    with pytest.raises(SalesforceResourceNotFound):
        sf.Unknown__c.describe()


def test_every_response_carries_the_limit_header_and_limits_reports_it(sf_sandbox, sf):
    sf_sandbox.set_daily_limit(15000, used=17)
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].used == 18
    assert sf.api_usage["api-usage"].total == 15000
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - 19}


def test_calls_past_the_daily_allowance_get_403_request_limit_exceeded(sf_sandbox, sf):
    sf_sandbox.set_daily_limit(3, used=2)
    sf.query("SELECT Id FROM Account")
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT Id FROM Account")
    assert exc.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert sf_sandbox.stats.faults == {"request_limit_exceeded": 1}


def test_stats_count_calls_per_endpoint_and_records_written(sf_sandbox, sf):
    sf.Account.create({"Name": "A"})
    sf.query("SELECT Id FROM Account")
    snap = sf_sandbox.stats.snapshot()
    assert snap.calls == {"POST sobjects": 1, "GET query": 1}
    assert (snap.write_calls, snap.records_written) == (1, 1)


def test_upsert_before_api_v46_answers_204_on_update(sf_sandbox):
    sf = sf_sandbox.make_client(version="45.0")
    assert sf.Account.upsert("Refsync_Id__c/p-1", {"Name": "A"}) == 201
    assert sf.Account.upsert("Refsync_Id__c/p-1", {"Name": "B"}) == 204


def test_get_updated_and_get_deleted_cover_the_window(sf_sandbox, sf):
    sf_sandbox.set_now(datetime(2024, 5, 10, 12, 0, 30, tzinfo=UTC))
    kept, gone = sf_sandbox.insert("Account", [{"Name": "A"}, {"Name": "B"}])
    sf.Account.delete(gone)
    start, end = datetime(2024, 5, 10, 11, tzinfo=UTC), datetime(2024, 5, 10, 12, 5, 45, tzinfo=UTC)
    assert sf.Account.updated(start, end) == {
        "ids": [kept],
        "latestDateCovered": "2024-05-10T12:05:00.000+0000",
    }
    assert sf.Account.deleted(start, end)["deletedRecords"] == [
        {"id": gone, "deletedDate": "2024-05-10T12:00:30.000+0000"}
    ]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.updated(end, start)
    assert exc.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
