"""sObject Collections through ``sf.restful('composite/sobjects', ...)``: caps, allOrNone,
per-record ``statusCode`` errors from field-level validation."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.sandbox.salesforce.values import to_id18


@pytest.fixture
def sf(sf_sandbox):
    return sf_sandbox.make_client()


def _referral(**fields):
    return {"attributes": {"type": "Referral__c"}, **fields}


def _upsert(sf, records, all_or_none=False, field="Refsync_Id__c"):
    return sf.restful(
        f"composite/sobjects/Referral__c/{field}",
        method="PATCH",
        json={"allOrNone": all_or_none, "records": records},
    )


def _codes(results):
    return [r["errors"][0]["statusCode"] if r["errors"] else None for r in results]


def test_upsert_collection_reports_created_per_record_in_request_order(sf_sandbox, sf):
    sf_sandbox.insert("Referral__c", [{"Refsync_Id__c": "r-2", "Stage__c": "Referred"}])
    results = _upsert(
        sf, [_referral(Refsync_Id__c=f"r-{i}", Stage__c="Accepted") for i in range(1, 4)]
    )
    assert [(r["success"], r["created"]) for r in results] == [
        (True, True),
        (True, False),
        (True, True),
    ]
    assert sf_sandbox.stats.calls == {"PATCH composite/sobjects upsert": 1}
    assert sf_sandbox.stats.records_written == 3
    assert {r["Stage__c"] for r in sf_sandbox.records("Referral__c")} == {"Accepted"}


def test_per_record_validation_errors_use_status_code_and_name_the_field(sf_sandbox, sf):
    """Failure catalogue: H4."""
    sf_sandbox.faults.lock_rows(["r-locked"])
    missing_account = to_id18("001Dn0000000999")
    results = _upsert(
        sf,
        [
            _referral(Refsync_Id__c="r-ok", Stage__c="Referred"),
            _referral(Refsync_Id__c="r-1", Bogus__c="x"),
            _referral(Refsync_Id__c="r-2", Reason__c="x" * 256),
            _referral(Refsync_Id__c="r-3", Stage__c="Seen"),
            _referral(Refsync_Id__c="r-4", Partner__c=missing_account),
            _referral(Refsync_Id__c="r-locked"),
            _referral(Refsync_Id__c="r-6", Referral_Number__c="N-1"),
            _referral(Refsync_Id__c="r-7", Referral_Number__c="n-1"),
        ],
    )
    assert _codes(results) == [
        None,
        "INVALID_FIELD",
        "STRING_TOO_LONG",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "INVALID_CROSS_REFERENCE_KEY",
        "UNABLE_TO_LOCK_ROW",
        None,
        "DUPLICATE_VALUE",  # external ids are case-insensitive
    ]
    assert results[2]["errors"][0]["fields"] == ["Reason__c"]
    assert (
        results[3]["errors"][0]["message"] == "Stage: bad value for restricted picklist field: Seen"
    )
    assert results[7]["errors"][0]["message"].startswith(
        "duplicate value found: Referral_Number__c"
    )
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_FIELD",
                "message": "No such column 'Bogus__c' on sobject of type Referral__c",
                "fields": [],
            }
        ],
        "created": False,
    }


def test_required_field_missing_is_per_record_in_create_collections(sf):
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Contact"}, "LastName": "A"},
                {"attributes": {"type": "Contact"}, "FirstName": "B"},
            ],
        },
    )
    assert results[0]["success"] is True and results[0]["id"].startswith("003")
    assert results[1]["errors"] == [
        {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [LastName]",
            "fields": ["LastName"],
        }
    ]


def test_all_or_none_rolls_back_every_record_when_one_fails(sf_sandbox, sf):
    results = _upsert(
        sf,
        [_referral(Refsync_Id__c="r-1"), _referral(Refsync_Id__c="r-2", Stage__c="Nope")],
        all_or_none=True,
    )
    assert _codes(results) == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    ]
    assert sf_sandbox.records("Referral__c") == []
    assert sf_sandbox.stats.records_written == 0


def test_more_than_200_records_answers_400_exceeded_id_limit(sf_sandbox, sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _upsert(sf, [_referral(Refsync_Id__c=f"r-{i}") for i in range(201)])
    assert exc.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert sf_sandbox.records("Referral__c") == []
    assert len(_upsert(sf, [_referral(Refsync_Id__c=f"r-{i}") for i in range(200)])) == 200


def test_relationship_references_resolve_in_collections(sf_sandbox, sf):
    [partner] = sf_sandbox.insert("Account", [{"Name": "P", "Refsync_Id__c": "p-1"}])
    results = _upsert(
        sf,
        [
            _referral(Refsync_Id__c="r-1", Partner__r={"Refsync_Id__c": "p-1"}),
            _referral(Refsync_Id__c="r-2", Partner__r={"Refsync_Id__c": "p-404"}),
        ],
    )
    assert _codes(results) == [None, "INVALID_FIELD"]
    assert sf_sandbox.records("Referral__c")[0]["Partner__c"] == partner


def test_the_same_key_twice_in_one_request_fails_both_records(sf):
    results = _upsert(sf, [_referral(Refsync_Id__c="r-1"), _referral(Refsync_Id__c="R-1")])
    assert _codes(results) == ["DUPLICATE_EXTERNAL_ID", "DUPLICATE_EXTERNAL_ID"]


def test_update_and_delete_collections_work_by_id(sf_sandbox, sf):
    ids = sf_sandbox.insert("Account", [{"Name": "A"}, {"Name": "B"}])
    updated = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [{"attributes": {"type": "Account"}, "id": i, "Tier__c": "1"} for i in ids]
        },
    )
    assert [r["success"] for r in updated] == [True, True]
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids)})
    assert [r["id"] for r in deleted] == ids
    assert sf_sandbox.records("Account") == []


def test_polymorphic_reference_uses_the_type_in_attributes(sf_sandbox, sf):
    [referral] = sf_sandbox.insert("Referral__c", [{"Refsync_Id__c": "r-1"}])
    what = {"attributes": {"type": "Referral__c"}, "Refsync_Id__c": "r-1"}
    results = sf.restful(
        "composite/sobjects/Task/Refsync_Id__c",
        method="PATCH",
        json={"records": [{"attributes": {"type": "Task"}, "Refsync_Id__c": "t-1", "What": what}]},
    )
    assert results[0]["success"] is True
    assert sf_sandbox.records("Task")[0]["WhatId"] == referral


def test_concurrent_upserts_of_the_same_keys_never_duplicate_a_record(sf_sandbox):
    from concurrent.futures import ThreadPoolExecutor

    records = [_referral(Refsync_Id__c=f"r-{i}") for i in range(25)]

    def push(_):
        client = sf_sandbox.make_client()
        return _upsert(client, records)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(push, range(8)))
    assert all(r["success"] for results in outcomes for r in results)
    assert sum(r["created"] for results in outcomes for r in results) == 25
    assert len(sf_sandbox.records("Referral__c")) == 25
