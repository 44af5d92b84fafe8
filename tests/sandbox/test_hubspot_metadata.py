"""Properties, groups, custom object schemas and deal pipelines in the HubSpot sandbox."""

from __future__ import annotations

import json

import pytest

from mapping.model import PartnerKind

CONTRACT_PROPERTIES = {
    "companies": {"name", "phone", "address", "city", "state", "zip", "country", "hubspot_owner_id",
                  "refsync_id", "refsync_npi", "refsync_partner_kind", "refsync_relationship_status",
                  "refsync_tier", "refsync_service_lines", "refsync_referrals_total",
                  "refsync_referrals_completed", "refsync_referrals_open",
                  "refsync_last_referral_at", "refsync_last_outreach_at"},
    "contacts": {"firstname", "lastname", "email", "phone", "jobtitle", "refsync_id", "refsync_npi",
                 "refsync_role", "refsync_specialty"},
    "deals": {"dealname", "pipeline", "dealstage", "refsync_id", "refsync_referral_number",
              "refsync_service_line", "refsync_urgency", "refsync_received_at",
              "refsync_stage_entered_at", "refsync_appointment_at", "refsync_completed_at",
              "refsync_loop_closed_at", "refsync_qualification_status", "refsync_missing_items",
              "refsync_definition_version", "refsync_decline_reason", "refsync_cancel_reason",
              "refsync_patient_ref"},
    "meetings": {"hs_timestamp", "hs_meeting_title", "hs_meeting_body", "hs_meeting_start_time",
                 "hs_meeting_end_time", "hs_meeting_outcome", "refsync_id",
                 "refsync_outreach_kind", "refsync_campaign"},
    "calls": {"hs_call_title", "hs_call_body", "refsync_id"},
    "notes": {"hs_note_body", "refsync_id"},
    "tasks": {"hs_task_subject", "hs_task_body", "hs_task_status", "refsync_id"},
    "p_referral_definitions": {"refsync_id", "service_line", "version", "required_documents",
                               "accepted_reasons", "rules_json", "respond_within_hours",
                               "schedule_within_days", "close_loop_within_days"},
}  # fmt: skip

UNIQUE_PROPERTY = {
    "name": "sf_account_id",
    "label": "Salesforce account ID",
    "type": "string",
    "fieldType": "text",
    "groupName": "refsync",
    "hasUniqueValue": True,
}


@pytest.mark.parametrize("object_type", sorted(CONTRACT_PROPERTIES))
def test_the_contract_properties_are_preloaded_with_a_unique_refsync_id(hs_sandbox, object_type):
    core = hs_sandbox.make_client().crm.properties.core_api
    props = {p.name: p for p in core.get_all(object_type).results}
    assert CONTRACT_PROPERTIES[object_type] <= set(props)
    assert props["refsync_id"].has_unique_value is True
    assert props["hs_object_id"].modification_metadata.read_only_value is True


def test_enumeration_options_come_from_the_canonical_model(hs_sandbox):
    core = hs_sandbox.make_client().crm.properties.core_api
    kind = core.get_by_name("companies", "refsync_partner_kind")
    assert kind.type == "enumeration"
    assert [o.value for o in kind.options] == [k.value for k in PartnerKind]
    assert kind.group_name == "refsync"


def test_a_created_unique_property_answers_201_and_serves_as_upsert_key(hs_sandbox):
    client = hs_sandbox.make_client()
    created = client.crm.properties.core_api.create("companies", UNIQUE_PROPERTY)
    assert created.has_unique_value is True
    upsert = {
        "inputs": [{"id": "001A", "idProperty": "sf_account_id", "properties": {"name": "A"}}]
    }
    assert client.crm.companies.batch_api.upsert(upsert).results[0].new is True
    assert client.crm.companies.batch_api.upsert(upsert).results[0].new is False


def test_creating_a_property_twice_answers_409(hs_sandbox):
    core = hs_sandbox.make_client().crm.properties.core_api
    core.create("companies", UNIQUE_PROPERTY)
    with pytest.raises(Exception) as info:
        core.create("companies", UNIQUE_PROPERTY)
    assert info.value.status == 409


def test_a_created_enumeration_property_checks_its_options(hs_sandbox):
    client = hs_sandbox.make_client()
    client.crm.properties.core_api.create(
        "companies",
        {
            "name": "sf_account_tier",
            "label": "SF account tier",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "refsync",
            "options": [
                {"label": "Gold", "value": "gold", "displayOrder": 0, "hidden": False},
                {"label": "Silver", "value": "silver", "displayOrder": 1, "hidden": False},
            ],
        },
    )
    client.crm.companies.basic_api.create({"properties": {"sf_account_tier": "gold"}})
    with pytest.raises(Exception) as info:
        client.crm.companies.basic_api.create({"properties": {"sf_account_tier": "bronze"}})
    assert "INVALID_OPTION" in json.loads(info.value.body)["message"]


def test_updating_a_property_changes_its_label_but_never_its_uniqueness(hs_sandbox):
    core = hs_sandbox.make_client().crm.properties.core_api
    core.create("companies", UNIQUE_PROPERTY)
    updated = core.update("companies", "sf_account_id", {"label": "SF ID", "hasUniqueValue": False})
    assert (updated.label, updated.has_unique_value) == ("SF ID", True)


def test_property_groups_are_listed_and_created(hs_sandbox):
    groups = hs_sandbox.make_client().crm.properties.groups_api
    assert "refsync" in {g.name for g in groups.get_all("contacts").results}
    made = groups.create("contacts", {"name": "sync_fields", "label": "Sync fields"})
    assert made.name == "sync_fields"
    assert groups.get_by_name("contacts", "sync_fields").label == "Sync fields"


def test_a_property_in_a_missing_group_is_refused(hs_sandbox):
    core = hs_sandbox.make_client().crm.properties.core_api
    with pytest.raises(Exception) as info:
        core.create("companies", {**UNIQUE_PROPERTY, "groupName": "nope"})
    assert info.value.status == 400


def test_the_referral_definitions_schema_is_preloaded(hs_sandbox):
    schemas = hs_sandbox.make_client().crm.schemas.core_api
    [schema] = schemas.get_all().results
    assert schema.name == "referral_definitions"
    assert schema.fully_qualified_name == "p12345678_referral_definitions"
    assert schema.object_type_id.startswith("2-")
    assert schemas.get_by_id("p_referral_definitions").id == schema.id


def test_a_new_custom_object_answers_201_and_takes_records(hs_sandbox):
    client = hs_sandbox.make_client()
    made = client.crm.schemas.core_api.create(
        {
            "name": "visits",
            "labels": {"singular": "Visit", "plural": "Visits"},
            "primaryDisplayProperty": "visit_id",
            "requiredProperties": ["visit_id"],
            "properties": [
                {
                    "name": "visit_id",
                    "label": "Visit ID",
                    "type": "string",
                    "fieldType": "text",
                    "hasUniqueValue": True,
                }
            ],
            "associatedObjects": ["COMPANY"],
        }
    )
    record = client.crm.objects.basic_api.create(
        made.object_type_id, {"properties": {"visit_id": "v-1"}}
    )
    got = client.crm.objects.basic_api.get_by_id("p_visits", "v-1", id_property="visit_id")
    assert got.id == record.id
    [company] = hs_sandbox.insert("companies", [{"name": "Northside"}])
    client.crm.associations.v4.basic_api.create_default("p_visits", record.id, "companies", company)
    assert hs_sandbox.associations("companies", company, "p_visits") == [record.id]


def test_only_the_default_sales_pipeline_is_preloaded(hs_sandbox):
    pipelines = hs_sandbox.make_client().crm.pipelines.pipelines_api
    [default] = pipelines.get_all("deals").results
    assert (default.id, default.label) == ("default", "Sales Pipeline")
    assert "closedwon" in {s.id for s in default.stages}


def test_a_referrals_pipeline_answers_201_and_its_stage_ids_work_on_deals(hs_sandbox):
    client = hs_sandbox.make_client()
    labels = ["Referred", "Scheduled", "Completed"]
    made = client.crm.pipelines.pipelines_api.create(
        "deals",
        {
            "label": "Referrals",
            "displayOrder": 1,
            "stages": [
                {"label": label, "displayOrder": i, "metadata": {"probability": "0.5"}}
                for i, label in enumerate(labels)
            ],
        },
    )
    assert [s.label for s in made.stages] == labels
    completed = next(s.id for s in made.stages if s.label == "Completed")
    deal = client.crm.deals.basic_api.create(
        {"properties": {"dealname": "R-1", "pipeline": made.id, "dealstage": completed}}
    )
    assert deal.properties["dealstage"] == completed
    with pytest.raises(Exception):  # a default-pipeline stage is not in Referrals
        client.crm.deals.basic_api.update(deal.id, {"properties": {"dealstage": "closedwon"}})


def test_stages_are_added_listed_and_read(hs_sandbox):
    stages = hs_sandbox.make_client().crm.pipelines.pipeline_stages_api
    made = stages.create(
        "deals",
        "default",
        {"label": "On hold", "displayOrder": 9, "metadata": {"probability": "0.3"}},
    )
    assert made.metadata == {"probability": "0.3", "isClosed": "false"}
    assert made.id in {s.id for s in stages.get_all("deals", "default").results}
    assert stages.get_by_id("deals", "default", made.id).label == "On hold"


def test_a_deal_stage_without_probability_answers_400(hs_sandbox):
    pipelines = hs_sandbox.make_client().crm.pipelines.pipelines_api
    with pytest.raises(Exception) as info:
        pipelines.create(
            "deals",
            {
                "label": "X",
                "displayOrder": 2,
                "stages": [{"label": "A", "displayOrder": 0, "metadata": {}}],
            },
        )
    assert info.value.status == 400


def test_a_second_pipeline_with_the_same_label_answers_409(hs_sandbox):
    pipelines = hs_sandbox.make_client().crm.pipelines.pipelines_api
    body = {"label": "Referrals", "displayOrder": 1, "stages": []}
    pipelines.create("deals", body)
    with pytest.raises(Exception) as info:
        pipelines.create("deals", body)
    assert info.value.status == 409
