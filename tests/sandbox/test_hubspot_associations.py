"""Associations v4 in the HubSpot sandbox, via the real client."""

from __future__ import annotations

import pytest


@pytest.fixture
def ids(hs_sandbox):
    [contact] = hs_sandbox.insert("contacts", [{"email": "dr.lee@example.org"}])
    [company] = hs_sandbox.insert("companies", [{"name": "Northside"}])
    [deal] = hs_sandbox.insert("deals", [{"dealname": "R-1"}])
    return {"contact": contact, "company": company, "deal": deal}


def _types(v4, a, a_id, b):
    page = v4.basic_api.get_page(a, a_id, b)
    return {r.to_object_id: sorted(t.type_id for t in r.association_types) for r in page.results}


def test_a_default_association_is_readable_from_both_sides(hs_sandbox, ids):
    v4 = hs_sandbox.make_client().crm.associations.v4
    answer = v4.basic_api.create_default("contacts", ids["contact"], "companies", ids["company"])
    assert answer.results[0].association_spec.association_type_id == 279
    assert _types(v4, "contacts", ids["contact"], "companies") == {ids["company"]: [279]}
    assert _types(v4, "companies", ids["company"], "contacts") == {ids["contact"]: [280]}


def test_a_labelled_association_answers_201_with_its_labels(hs_sandbox, ids):
    v4 = hs_sandbox.make_client().crm.associations.v4
    primary = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]
    pair = v4.basic_api.create("contacts", ids["contact"], "companies", ids["company"], primary)
    assert (pair.from_object_type_id, pair.to_object_type_id) == ("0-1", "0-2")
    assert pair.labels == ["Primary"]


def test_an_unknown_association_type_answers_400(hs_sandbox, ids):
    v4 = hs_sandbox.make_client().crm.associations.v4
    wrong = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]
    with pytest.raises(Exception) as info:
        v4.basic_api.create("contacts", ids["contact"], "companies", ids["company"], wrong)
    assert info.value.status == 400


def test_user_defined_labels_are_created_and_listed_with_the_defaults(hs_sandbox, ids):
    v4 = hs_sandbox.make_client().crm.associations.v4
    v4.schema.definitions_api.create(
        "contacts", "companies", {"label": "Referring clinician", "name": "referring_clinician"}
    )
    labels = v4.schema.definitions_api.get_all("contacts", "companies").results
    by_label = {t.label: t for t in labels}
    assert by_label["Referring clinician"].category == "USER_DEFINED"
    assert "Primary" in by_label
    assert 279 in {t.type_id for t in labels}
    spec = [
        {
            "associationCategory": "USER_DEFINED",
            "associationTypeId": by_label["Referring clinician"].type_id,
        }
    ]
    pair = v4.basic_api.create("contacts", ids["contact"], "companies", ids["company"], spec)
    assert pair.labels == ["Referring clinician"]


def test_batch_create_answers_201_and_missing_records_come_back_in_a_207(hs_sandbox, ids):
    v4 = hs_sandbox.make_client().crm.associations.v4
    link = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}
    ok = v4.batch_api.create(
        "deals",
        "companies",
        {"inputs": [{"from": {"id": ids["deal"]}, "to": {"id": ids["company"]}, "types": [link]}]},
    )
    assert type(ok).__name__ == "BatchResponseLabelsBetweenObjectPair"
    partial = v4.batch_api.create(
        "deals",
        "companies",
        {"inputs": [{"from": {"id": "999"}, "to": {"id": ids["company"]}, "types": [link]}]},
    )
    assert partial.num_errors == 1
    assert partial.errors[0].context["subCategory"] == ["crm.associations.FROM_OBJECT_NOT_FOUND"]
    assert hs_sandbox.associations("companies", ids["company"], "deals") == [ids["deal"]]


def test_batch_read_returns_associations_and_reports_ids_without_any(hs_sandbox, ids):
    v4 = hs_sandbox.make_client().crm.associations.v4
    v4.batch_api.create_default(
        "contacts",
        "companies",
        {"inputs": [{"from": {"id": ids["contact"]}, "to": {"id": ids["company"]}}]},
    )
    answer = v4.batch_api.get_page(
        "contacts", "companies", {"inputs": [{"id": ids["contact"]}, {"id": "999"}]}
    )
    assert answer.results[0].to[0].to_object_id == ids["company"]
    assert answer.num_errors == 1
    assert answer.errors[0].context["subCategory"] == ["crm.associations.NO_ASSOCIATIONS_FOUND"]


def test_archiving_removes_the_association_in_both_directions(hs_sandbox, ids):
    v4 = hs_sandbox.make_client().crm.associations.v4
    v4.basic_api.create_default("deals", ids["deal"], "contacts", ids["contact"])
    v4.basic_api.create_default("deals", ids["deal"], "companies", ids["company"])
    v4.basic_api.archive("deals", ids["deal"], "contacts", ids["contact"])
    v4.batch_api.archive(
        "deals",
        "companies",
        {"inputs": [{"from": {"id": ids["deal"]}, "to": [{"id": ids["company"]}]}]},
    )
    assert hs_sandbox.associations("contacts", ids["contact"], "deals") == []
    assert hs_sandbox.associations("companies", ids["company"], "deals") == []


def test_associations_sent_with_a_create_are_stored(hs_sandbox, ids):
    notes = hs_sandbox.make_client().crm.objects.notes.basic_api
    note = notes.create(
        {
            "properties": {
                "hs_note_body": "Lunch and learn",
                "hs_timestamp": "2026-03-01T12:00:00Z",
            },
            "associations": [
                {
                    "to": {"id": ids["company"]},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 190}],
                }
            ],
        }
    )
    assert hs_sandbox.associations("companies", ids["company"], "notes") == [note.id]


def test_object_reads_list_associated_ids_when_asked(hs_sandbox, ids):
    client = hs_sandbox.make_client()
    client.crm.associations.v4.basic_api.create_default(
        "deals", ids["deal"], "companies", ids["company"]
    )
    deal = client.crm.deals.basic_api.get_by_id(
        ids["deal"], associations=["companies", "spaceships"]
    )
    assert [(a.id, a.type) for a in deal.associations["companies"].results] == [
        (ids["company"], "deal_to_company")
    ]
    page = client.crm.companies.basic_api.get_page(associations=["deals"])
    assert page.results[0].associations["deals"].results[0].id == ids["deal"]
