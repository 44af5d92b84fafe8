"""The HubSpot sandbox's objects API, driven through the real hubspot-api-client."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.contacts.exceptions import NotFoundException

from connectors.sandbox.hubspot import HubSpotSandbox

WHEN = datetime(2026, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)


def _problems(exc: Exception) -> list[dict]:
    body = json.loads(exc.body)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    return json.loads(body["message"][len("Property values were not valid: ") :])


def test_create_answers_201_with_server_maintained_properties(hs_sandbox):
    hs_sandbox.set_now(WHEN, frozen=True)
    client = hs_sandbox.make_client()
    created = client.crm.contacts.basic_api.create(
        {"properties": {"email": "ann@example.org", "firstname": "Ann"}, "associations": []}
    )
    assert created is not None  # a wrong status (200 for 201) would make this None
    props = created.properties
    assert props["hs_object_id"] == created.id
    assert props["createdate"] == props["lastmodifieddate"] == "2026-03-01T12:30:15.123Z"
    assert created.created_at == WHEN
    assert hs_sandbox.stats.calls == {"POST /crm/v3/objects/contacts": 1}


def test_companies_and_deals_use_hs_lastmodifieddate(hs_sandbox):
    client = hs_sandbox.make_client()
    company = client.crm.companies.basic_api.create({"properties": {"name": "Northside"}})
    deal = client.crm.deals.basic_api.create({"properties": {"dealname": "R-1"}})
    assert "hs_lastmodifieddate" in company.properties
    assert "lastmodifieddate" not in company.properties
    assert "hs_lastmodifieddate" in deal.properties


def test_list_pages_hold_at_most_100_and_the_last_page_has_no_paging(hs_sandbox):
    ids = hs_sandbox.insert("contacts", [{"email": f"c{i}@example.org"} for i in range(250)])
    api = hs_sandbox.make_client().crm.contacts.basic_api
    seen, sizes, after = [], [], None
    while True:
        page = api.get_page(limit=500, after=after) if after else api.get_page(limit=500)
        sizes.append(len(page.results))
        seen += [r.id for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert sizes == [100, 100, 50]
    assert seen == ids
    assert len(api.get_page().results) == 10  # default limit


def test_get_all_helper_reads_every_record(hs_sandbox):
    hs_sandbox.insert("companies", [{"name": f"Clinic {i}"} for i in range(120)])
    everything = hs_sandbox.make_client().crm.companies.get_all(properties=["name"])
    assert len(everything) == 120
    assert hs_sandbox.stats.calls == {"GET /crm/v3/objects/companies": 2}


def test_reads_return_only_requested_properties_plus_id_and_dates(hs_sandbox):
    [cid] = hs_sandbox.insert(
        "contacts", [{"email": "a@example.org", "firstname": "Ann", "phone": "555"}]
    )
    api = hs_sandbox.make_client().crm.contacts.basic_api
    got = api.get_by_id(cid, properties=["phone", "nonexistent"])
    assert set(got.properties) == {"phone", "hs_object_id", "createdate", "lastmodifieddate"}
    default = api.get_by_id(cid)
    assert set(default.properties) == {
        "email",
        "firstname",
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
    }


def test_get_by_id_property_reads_by_a_unique_value(hs_sandbox):
    [cid] = hs_sandbox.insert("contacts", [{"email": "ann@example.org", "refsync_id": "cl-1"}])
    api = hs_sandbox.make_client().crm.contacts.basic_api
    assert api.get_by_id("cl-1", id_property="refsync_id").id == cid
    assert api.get_by_id("ANN@example.org", id_property="email").id == cid
    with pytest.raises(ContactsApiException) as info:
        api.get_by_id("Ann", id_property="firstname")
    assert info.value.status == 400


def test_a_missing_record_answers_404_object_not_found(hs_sandbox):
    api = hs_sandbox.make_client().crm.contacts.basic_api
    with pytest.raises(NotFoundException) as info:
        api.get_by_id("31337")
    body = json.loads(info.value.body)
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["status"] == "error" and body["correlationId"]


def test_update_moves_the_modified_date_but_not_the_create_date(hs_sandbox):
    hs_sandbox.set_now(WHEN, frozen=True)
    [cid] = hs_sandbox.insert("contacts", [{"email": "a@example.org"}])
    hs_sandbox.set_now(WHEN.replace(hour=13), frozen=True)
    api = hs_sandbox.make_client().crm.contacts.basic_api
    updated = api.update(cid, {"properties": {"firstname": "Ann"}})
    assert updated.properties["createdate"] == "2026-03-01T12:30:15.123Z"
    assert updated.properties["lastmodifieddate"] == "2026-03-01T13:30:15.123Z"
    assert updated.properties["firstname"] == "Ann"


def test_an_empty_string_clears_a_value(hs_sandbox):
    [cid] = hs_sandbox.insert("contacts", [{"email": "a@example.org", "phone": "555"}])
    api = hs_sandbox.make_client().crm.contacts.basic_api
    api.update(cid, {"properties": {"phone": ""}})
    assert "phone" not in api.get_by_id(cid, properties=["phone"]).properties


def test_archive_answers_204_and_moves_the_record_to_the_archived_listing(hs_sandbox):
    [cid] = hs_sandbox.insert("contacts", [{"email": "a@example.org"}])
    api = hs_sandbox.make_client().crm.contacts.basic_api
    assert api.archive(cid) is None
    assert api.get_page().results == []
    archived = api.get_page(archived=True).results
    assert [r.id for r in archived] == [cid]
    assert archived[0].archived is True and archived[0].archived_at is not None
    with pytest.raises(NotFoundException):
        api.get_by_id(cid)
    # the unique value is free again
    again = api.create({"properties": {"email": "a@example.org"}})
    assert again.id != cid


def test_a_duplicate_unique_value_answers_409_naming_the_existing_id(hs_sandbox):
    [cid] = hs_sandbox.insert("contacts", [{"email": "a@example.org"}])
    api = hs_sandbox.make_client().crm.contacts.basic_api
    with pytest.raises(ContactsApiException) as info:
        api.create({"properties": {"email": "A@example.org"}})
    body = json.loads(info.value.body)
    assert info.value.status == 409
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {cid}"


def test_an_unknown_property_answers_400_property_doesnt_exist(hs_sandbox):
    api = hs_sandbox.make_client().crm.contacts.basic_api
    with pytest.raises(ContactsApiException) as info:
        api.create({"properties": {"email": "a@example.org", "favourite_colour": "red"}})
    assert info.value.status == 400
    [problem] = _problems(info.value)
    assert problem["error"] == "PROPERTY_DOESNT_EXIST"
    assert problem["name"] == "favourite_colour"
    assert hs_sandbox.records("contacts") == []


def test_an_enumeration_value_outside_the_options_answers_invalid_option(hs_sandbox):
    api = hs_sandbox.make_client().crm.contacts.basic_api
    with pytest.raises(ContactsApiException) as info:
        api.create({"properties": {"refsync_role": "astronaut"}})
    [problem] = _problems(info.value)
    assert problem["error"] == "INVALID_OPTION"
    assert problem["message"].startswith("astronaut was not one of the allowed options: [")
    assert "physician" in problem["message"]


def test_numbers_dates_and_datetimes_are_checked_and_normalised(hs_sandbox):
    api = hs_sandbox.make_client().crm.companies.basic_api
    with pytest.raises(Exception) as info:
        api.create({"properties": {"refsync_referrals_total": "many"}})
    assert _problems(info.value)[0]["error"] == "INVALID_LONG"
    created = api.create(
        {
            "properties": {
                "refsync_referrals_total": "12",
                "refsync_last_referral_at": "1772368215123",
            }
        }
    )
    assert created.properties["refsync_last_referral_at"] == "2026-03-01T12:30:15.123Z"
    with pytest.raises(Exception) as info:
        api.create({"properties": {"refsync_last_outreach_at": "next tuesday"}})
    assert _problems(info.value)[0]["name"] == "refsync_last_outreach_at"


def test_a_read_only_property_cannot_be_written(hs_sandbox):
    api = hs_sandbox.make_client().crm.contacts.basic_api
    with pytest.raises(ContactsApiException) as info:
        api.create({"properties": {"hs_object_id": "5"}})
    assert _problems(info.value)[0]["error"] == "READ_ONLY_VALUE"


def test_a_deal_stage_must_belong_to_the_deal_pipeline(hs_sandbox):
    api = hs_sandbox.make_client().crm.deals.basic_api
    ok = api.create({"properties": {"dealname": "R-1", "dealstage": "closedwon"}})
    assert ok.properties["dealstage"] == "closedwon"
    with pytest.raises(Exception) as info:
        api.create({"properties": {"dealname": "R-2", "dealstage": "Completed"}})
    [problem] = _problems(info.value)
    assert (problem["name"], problem["error"]) == ("dealstage", "INVALID_OPTION")


@pytest.mark.parametrize("object_type", ["p_referral_definitions", "2-9000001"])
def test_the_preloaded_custom_object_is_reachable_by_its_names(hs_sandbox, object_type):
    api = hs_sandbox.make_client().crm.objects.basic_api
    created = api.create(object_type, {"properties": {"refsync_id": "cardio-3", "version": "3"}})
    assert created.properties["hs_object_id"] == created.id
    fqn = "p12345678_referral_definitions"
    assert api.get_by_id(fqn, "cardio-3", id_property="refsync_id").id == created.id


def test_an_unknown_object_type_answers_400(hs_sandbox):
    api = hs_sandbox.make_client().crm.objects.basic_api
    with pytest.raises(Exception) as info:
        api.get_page("spaceships")
    assert info.value.status == 400
    assert "Unable to infer object type" in json.loads(info.value.body)["message"]


def test_a_call_without_a_valid_token_answers_401_invalid_authentication(hs_sandbox):
    client = hs_sandbox.make_client(access_token="pat-na1-not-the-token")
    with pytest.raises(Exception) as info:
        client.crm.contacts.basic_api.get_page()
    assert info.value.status == 401
    assert json.loads(info.value.body)["category"] == "INVALID_AUTHENTICATION"


def test_a_data_dir_keeps_records_definitions_and_pipelines_across_restarts(tmp_path):
    with HubSpotSandbox(data_dir=tmp_path) as first:
        client = first.make_client()
        client.crm.properties.core_api.create(
            "companies",
            {
                "name": "sf_id",
                "label": "Salesforce ID",
                "type": "string",
                "fieldType": "text",
                "groupName": "refsync",
                "hasUniqueValue": True,
            },
        )
        company = client.crm.companies.basic_api.create({"properties": {"sf_id": "001A"}})
        [contact] = first.insert("contacts", [{"email": "a@example.org"}])
        client.crm.associations.v4.schema.definitions_api.create(
            "contacts", "companies", {"label": "Referring clinician", "name": "referring"}
        )
        labelled = client.crm.associations.v4.schema.definitions_api.get_all(
            "contacts", "companies"
        )
        [referring] = [t for t in labelled.results if t.label == "Referring clinician"]
        client.crm.associations.v4.basic_api.create(
            "contacts",
            contact,
            "companies",
            company.id,
            [{"associationCategory": "USER_DEFINED", "associationTypeId": referring.type_id}],
        )
        pipeline = client.crm.pipelines.pipelines_api.create(
            "deals",
            {
                "label": "Referrals",
                "displayOrder": 1,
                "stages": [
                    {"label": "Referred", "displayOrder": 0, "metadata": {"probability": "0.1"}}
                ],
            },
        )
    with HubSpotSandbox(data_dir=tmp_path) as second:
        assert second.token == first.token  # printed settings keep working
        client = second.make_client()
        again = client.crm.companies.basic_api.get_by_id("001A", id_property="sf_id")
        assert again.id == company.id
        labels = [p.label for p in client.crm.pipelines.pipelines_api.get_all("deals").results]
        assert labels == ["Sales Pipeline", "Referrals"]
        assert client.crm.pipelines.pipelines_api.get_by_id("deals", pipeline.id).id == pipeline.id
        [link] = client.crm.associations.v4.basic_api.get_page(
            "companies", company.id, "contacts"
        ).results
        assert link.to_object_id == contact
        assert "Referring clinician" in {t.label for t in link.association_types}


def test_parallel_batch_upserts_keep_unique_values_unique(hs_sandbox):
    def worker(n: int) -> None:
        batch = hs_sandbox.make_client().crm.companies.batch_api
        for step in range(5):
            ids = range(step * 20, step * 20 + 40)
            batch.upsert(
                {
                    "inputs": [
                        {
                            "id": f"org-{i}",
                            "idProperty": "refsync_id",
                            "properties": {"name": f"w{n}"},
                        }
                        for i in ids
                    ]
                }
            )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    keys = sorted(r["properties"]["refsync_id"] for r in hs_sandbox.records("companies"))
    assert keys == sorted(f"org-{i}" for i in range(120))
    assert hs_sandbox.stats.write_calls == 20


def test_in_process_inserts_are_validated_like_api_writes(hs_sandbox):
    with pytest.raises(ValueError, match="PROPERTY_DOESNT_EXIST"):
        hs_sandbox.insert("contacts", [{"shoe_size": "44"}])
    assert hs_sandbox.stats.total_calls == 0


def test_a_malformed_body_answers_400_validation_error_not_a_server_error(hs_sandbox):
    v4 = hs_sandbox.make_client().crm.associations.v4
    with pytest.raises(Exception) as info:
        v4.batch_api.create("contacts", "companies", {"inputs": [{"from": {}, "to": {}}]})
    assert info.value.status == 400
    assert json.loads(info.value.body)["category"] == "VALIDATION_ERROR"
    with pytest.raises(Exception) as info:
        hs_sandbox.make_client().crm.contacts.batch_api.read({"nothing": []})
    assert info.value.status == 400
