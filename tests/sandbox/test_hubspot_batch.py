"""Batch create/read/update/upsert/archive in the HubSpot sandbox, via the real client."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.contacts import ApiException


def _inputs(n: int, start: int = 0) -> list[dict]:
    return [
        {"properties": {"email": f"c{i}@example.org"}, "associations": []}
        for i in range(start, start + n)
    ]


def test_batch_create_answers_201_and_writes_up_to_100_records(hs_sandbox):
    batch = hs_sandbox.make_client().crm.contacts.batch_api
    answer = batch.create({"inputs": _inputs(100)})
    assert type(answer).__name__ == "BatchResponseSimplePublicObject"
    assert answer.status == "COMPLETE"
    assert len(answer.results) == 100
    assert hs_sandbox.stats.write_calls == 1
    assert hs_sandbox.stats.records_written == 100


def test_more_than_100_inputs_answer_400_and_write_nothing(hs_sandbox):
    batch = hs_sandbox.make_client().crm.contacts.batch_api
    with pytest.raises(ApiException) as info:
        batch.create({"inputs": _inputs(101)})
    assert info.value.status == 400
    assert json.loads(info.value.body)["category"] == "VALIDATION_ERROR"
    assert hs_sandbox.records("contacts") == []


def test_one_bad_input_without_trace_ids_fails_the_whole_create(hs_sandbox):
    batch = hs_sandbox.make_client().crm.contacts.batch_api
    inputs = [*_inputs(2), {"properties": {"refsync_role": "pilot"}, "associations": []}]
    with pytest.raises(ApiException) as info:
        batch.create({"inputs": inputs})
    assert info.value.status == 400
    assert hs_sandbox.records("contacts") == []


def test_with_distinct_trace_ids_a_bad_input_comes_back_in_a_207(hs_sandbox):
    batch = hs_sandbox.make_client().crm.contacts.batch_api
    inputs = [
        {"properties": {"email": "ok@example.org"}, "associations": [], "objectWriteTraceId": "a"},
        {"properties": {"refsync_role": "pilot"}, "associations": [], "objectWriteTraceId": "b"},
    ]
    answer = batch.create({"inputs": inputs})
    assert type(answer).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert answer.num_errors == 1
    assert answer.errors[0].category == "VALIDATION_ERROR"
    assert answer.errors[0].context == {"objectWriteTraceId": ["b"]}
    assert [r.object_write_trace_id for r in answer.results] == ["a"]
    assert len(hs_sandbox.records("contacts")) == 1


def test_batch_create_of_an_existing_unique_value_answers_409(hs_sandbox):
    [cid] = hs_sandbox.insert("contacts", [{"email": "c0@example.org"}])
    batch = hs_sandbox.make_client().crm.contacts.batch_api
    with pytest.raises(ApiException) as info:
        batch.create({"inputs": _inputs(3)})
    assert info.value.status == 409
    assert f"Existing ID: {cid}" in json.loads(info.value.body)["message"]
    assert len(hs_sandbox.records("contacts")) == 1


def test_batch_read_by_id_property_reports_missing_ids_in_a_207(hs_sandbox):
    hs_sandbox.insert("contacts", [{"email": "a@example.org", "firstname": "Ann"}])
    batch = hs_sandbox.make_client().crm.contacts.batch_api
    answer = batch.read(
        {
            "inputs": [{"id": "a@example.org"}, {"id": "nobody@example.org"}],
            "idProperty": "email",
            "properties": ["firstname"],
            "propertiesWithHistory": [],
        }
    )
    assert answer.num_errors == 1
    error = answer.errors[0]
    assert error.category == "OBJECT_NOT_FOUND"
    assert error.context == {"ids": ["nobody@example.org"]}
    assert error.message.startswith("Could not get some CONTACT objects")
    assert answer.results[0].properties["firstname"] == "Ann"


def test_batch_read_of_present_ids_answers_200(hs_sandbox):
    ids = hs_sandbox.insert("companies", [{"name": "A"}, {"name": "B"}])
    batch = hs_sandbox.make_client().crm.companies.batch_api
    answer = batch.read(
        {"inputs": [{"id": i} for i in ids], "properties": ["name"], "propertiesWithHistory": []}
    )
    assert type(answer).__name__ == "BatchResponseSimplePublicObject"
    assert sorted(r.properties["name"] for r in answer.results) == ["A", "B"]


def test_batch_update_answers_200_and_reports_unknown_ids_in_a_207(hs_sandbox):
    [cid] = hs_sandbox.insert("contacts", [{"email": "a@example.org"}])
    batch = hs_sandbox.make_client().crm.contacts.batch_api
    ok = batch.update({"inputs": [{"id": cid, "properties": {"firstname": "Ann"}}]})
    assert type(ok).__name__ == "BatchResponseSimplePublicObject"
    partial = batch.update(
        {
            "inputs": [
                {"id": cid, "properties": {"lastname": "Lee"}},
                {"id": "999", "properties": {"lastname": "X"}},
            ]
        }
    )
    assert partial.num_errors == 1 and partial.errors[0].context == {"ids": ["999"]}
    [record] = hs_sandbox.records("contacts")
    assert (record["properties"]["firstname"], record["properties"]["lastname"]) == ("Ann", "Lee")


def test_batch_update_with_an_invalid_value_answers_400_and_changes_nothing(hs_sandbox):
    ids = hs_sandbox.insert("contacts", [{"email": "a@example.org"}, {"email": "b@example.org"}])
    batch = hs_sandbox.make_client().crm.contacts.batch_api
    with pytest.raises(ApiException) as info:
        batch.update(
            {
                "inputs": [
                    {"id": ids[0], "properties": {"firstname": "Ann"}},
                    {"id": ids[1], "properties": {"refsync_role": "pilot"}},
                ]
            }
        )
    assert info.value.status == 400
    assert all("firstname" not in r["properties"] for r in hs_sandbox.records("contacts"))


def test_upsert_by_a_unique_property_creates_then_updates(hs_sandbox):
    batch = hs_sandbox.make_client().crm.companies.batch_api
    body = {
        "inputs": [
            {"id": "org-1", "idProperty": "refsync_id", "properties": {"name": "Northside"}},
            {"id": "org-2", "idProperty": "refsync_id", "properties": {"name": "Southside"}},
        ]
    }
    first = batch.upsert(body)
    assert type(first).__name__ == "BatchResponseSimplePublicUpsertObject"
    assert [r.new for r in first.results] == [True, True]
    body["inputs"][0]["properties"]["name"] = "Northside Clinic"
    second = batch.upsert(body)
    assert [r.new for r in second.results] == [False, False]
    assert {r.id for r in second.results} == {r.id for r in first.results}
    names = sorted(r["properties"]["name"] for r in hs_sandbox.records("companies"))
    assert names == ["Northside Clinic", "Southside"]
    assert {r["properties"]["refsync_id"] for r in hs_sandbox.records("companies")} == {
        "org-1",
        "org-2",
    }


def test_upsert_by_a_property_without_unique_values_answers_400(hs_sandbox):
    batch = hs_sandbox.make_client().crm.companies.batch_api
    with pytest.raises(Exception) as info:
        batch.upsert({"inputs": [{"id": "Acme", "idProperty": "name", "properties": {}}]})
    assert info.value.status == 400


def test_upsert_with_the_same_id_twice_answers_400(hs_sandbox):
    batch = hs_sandbox.make_client().crm.companies.batch_api
    one = {"id": "org-1", "idProperty": "refsync_id", "properties": {"name": "A"}}
    with pytest.raises(Exception) as info:
        batch.upsert({"inputs": [one, one]})
    assert "Duplicate IDs" in json.loads(info.value.body)["message"]
    assert hs_sandbox.records("companies") == []


def test_batch_archive_answers_204_and_ignores_unknown_ids(hs_sandbox):
    ids = hs_sandbox.insert("deals", [{"dealname": "R-1"}, {"dealname": "R-2"}])
    batch = hs_sandbox.make_client().crm.deals.batch_api
    assert batch.archive({"inputs": [{"id": ids[0]}, {"id": "424242"}]}) is None
    assert [r["id"] for r in hs_sandbox.records("deals", archived=True)] == [ids[0]]
    assert hs_sandbox.stats.records_written == 1


def test_generic_objects_batch_works_for_engagements_and_custom_objects(hs_sandbox):
    batch = hs_sandbox.make_client().crm.objects.batch_api
    notes = batch.create(
        "notes",
        {
            "inputs": [
                {
                    "properties": {"hs_note_body": "Lunch", "hs_timestamp": "2026-03-01T10:00:00Z"},
                    "associations": [],
                }
            ]
        },
    )
    assert notes.results[0].properties["hs_timestamp"] == "2026-03-01T10:00:00Z"
    defs = batch.upsert(
        "p_referral_definitions",
        {
            "inputs": [
                {"id": "cardio-3", "idProperty": "refsync_id", "properties": {"version": "3"}}
            ]
        },
    )
    assert defs.results[0].new is True
