"""The mapping spec: YAML shape, canonical paths, and the cross-checks against the model."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mapping.model import Stage
from mapping.spec import EntityMapping, FieldMapping, MappingSpec, resolve_path
from mapping.spec_check import check_entity, check_mapping, check_ownership

ALL_STAGES = {s.value: s.value.replace("_", " ").title() for s in Stage}


def referral(fields=(), stage=None):
    data = {"object": "Referral__c", "key": "Refsync_Id__c", "fields": list(fields)}
    if stage is not None:
        data["stage"] = stage
    return EntityMapping.model_validate(data).for_entity("referral")


def check(em, *, phi_allowed=False, writes=True, entity="referral"):
    return check_entity(entity, em, connection="crm", phi_allowed=phi_allowed, writes=writes)


def messages(problems):
    return [p.message for p in problems]


# -- shape -------------------------------------------------------------------------------


def test_a_mapping_file_parses_with_both_transform_step_forms():
    spec = MappingSpec.model_validate(
        {
            "system": "salesforce",
            "entities": {
                "partner": {
                    "object": "Account",
                    "key": "Refsync_Id__c",
                    "fields": [
                        {
                            "canonical": "name",
                            "native": "Name",
                            "transforms": ["strip", {"truncate": 255}],
                            "owned": True,
                        }
                    ],
                }
            },
        }
    )
    em = spec.entities["partner"]
    assert em.entity == "partner"
    fm = em.fields[0]
    assert [(s.name, s.args) for s in fm.transforms] == [("strip", None), ("truncate", 255)]
    assert fm.direction == "both" and fm.reads and fm.writes


def test_a_misspelt_key_is_refused_at_its_place():
    with pytest.raises(ValidationError) as info:
        FieldMapping.model_validate({"canonical": "name", "native": "Name", "direcion": "in"})
    (error,) = info.value.errors()
    assert error["type"] == "extra_forbidden"
    assert error["loc"] == ("direcion",)


def test_an_unknown_transform_is_refused_with_the_step_index_in_its_location():
    with pytest.raises(ValidationError) as info:
        FieldMapping.model_validate(
            {"canonical": "name", "native": "Name", "transforms": ["strip", "trim"]}
        )
    (error,) = info.value.errors()
    assert error["loc"][:2] == ("transforms", 1)
    assert "unknown transform 'trim'" in error["msg"]


def test_transform_arguments_are_checked_when_the_mapping_is_read():
    with pytest.raises(ValidationError, match="truncate"):
        FieldMapping.model_validate(
            {"canonical": "name", "native": "Name", "transforms": [{"truncate": "long"}]}
        )


def test_an_unknown_entity_name_is_refused():
    with pytest.raises(ValidationError) as info:
        MappingSpec.model_validate(
            {"system": "x", "entities": {"partnr": {"object": "A", "key": "K"}}}
        )
    assert info.value.errors()[0]["loc"] == ("entities", "partnr", "[key]")


def test_a_stage_map_translates_both_ways_with_inbound_extras():
    em = referral(
        stage={"native": "Stage__c", "map": {"completed": "Done"}, "inbound": {"Seen": "completed"}}
    )
    assert em.stage is not None
    assert em.stage.native_value(Stage.COMPLETED) == "Done"
    assert em.stage.canonical_stage("Done") is Stage.COMPLETED
    assert em.stage.canonical_stage("Seen") is Stage.COMPLETED
    assert em.stage.canonical_stage("Other") is None


# -- canonical paths ---------------------------------------------------------------------


def test_dotted_paths_walk_into_nested_models():
    assert resolve_path("partner", "address.city").annotation == str | None
    assert resolve_path("referral", "qualification.status") is not None
    assert resolve_path("referral", "patient.mrn") is not None


def test_an_unknown_path_names_the_closest_field():
    with pytest.raises(KeyError, match=r"'address.cty'.*did you mean 'address.city'"):
        resolve_path("partner", "address.cty")


def test_lists_are_not_walked_into():
    with pytest.raises(KeyError, match="no sub-fields"):
        resolve_path("referral", "stage_history.stage")


# -- cross-checks ------------------------------------------------------------------------


def test_an_unknown_canonical_field_is_reported_at_the_canonical_key():
    problems = check(referral([{"canonical": "referal_number", "native": "Name"}]))
    assert [p.loc for p in problems] == [("fields", 0, "canonical")]
    assert "did you mean 'referral_number'" in problems[0].message


def test_a_phi_field_sent_to_a_non_phi_connection_is_an_error_naming_field_and_fix():
    problems = check(referral([{"canonical": "patient.mrn", "native": "MRN__c"}]))
    (problem,) = problems
    assert problem.loc == ("fields", 0, "canonical")
    assert "referral.patient.mrn is PHI" in problem.message
    assert "'crm'" in problem.message and "phi_allowed" in problem.message


def test_the_whole_phi_block_counts_as_phi():
    problems = check(
        referral([{"canonical": "patient", "native": "Patient__c", "transforms": ["json"]}])
    )
    assert "PHI" in problems[0].message


def test_phi_may_be_read_in_or_sent_to_a_connection_that_may_hold_it():
    read_only = referral([{"canonical": "patient.mrn", "native": "MRN", "direction": "in"}])
    assert check(read_only) == []
    both = referral([{"canonical": "patient.mrn", "native": "MRN"}])
    assert check(both, phi_allowed=True) == []


def test_a_stage_without_a_target_is_an_error():
    em = referral(stage={"native": "Stage__c", "map": {**ALL_STAGES, "scheduled": None}})
    (problem,) = check(em)
    assert problem.loc == ("stage", "map", "scheduled")
    assert "stage scheduled has no target" in problem.message


def test_a_destination_needs_a_target_for_every_stage_but_a_source_does_not():
    em = referral(
        stage={"native": "Status", "map": {"scheduled": "booked", "completed": "fulfilled"}}
    )
    assert check(em, writes=False) == []
    (problem,) = check(em, writes=True)
    assert problem.loc == ("stage", "map")
    assert "contacted" in problem.message and "no_show" in problem.message


def test_two_stages_on_one_native_value_need_an_inbound_choice():
    stage = {"native": "Stage__c", "map": {**ALL_STAGES, "declined": "Lost", "cancelled": "Lost"}}
    (problem,) = check(referral(stage=stage))
    assert "'Lost'" in problem.message and "inbound" in problem.message
    stage["inbound"] = {"Lost": "cancelled"}
    assert check(referral(stage=stage)) == []


def test_only_referrals_have_stages():
    em = EntityMapping.model_validate(
        {"object": "Account", "key": "K", "stage": {"native": "S", "map": {"referred": "R"}}}
    ).for_entity("partner")
    assert messages(check(em, entity="partner")) == ["partner has no stage; only referral does"]


def test_a_native_field_written_twice_is_an_error():
    em = referral(
        [
            {"canonical": "reason", "native": "Reason__c"},
            {"canonical": "decline_reason", "native": "Reason__c", "direction": "out"},
        ]
    )
    (problem,) = check(em)
    assert problem.loc == ("fields", 1, "native")
    assert "already written" in problem.message and "fields[0]" in problem.message


def test_a_native_field_read_twice_is_an_error_but_in_and_out_may_share_it():
    em = referral(
        [
            {"canonical": "reason", "native": "Reason__c", "direction": "in"},
            {"canonical": "decline_reason", "native": "Reason__c", "direction": "out"},
        ]
    )
    assert check(em) == []
    em = referral(
        [
            {"canonical": "reason", "native": "Reason__c", "direction": "in"},
            {"canonical": "decline_reason", "native": "Reason__c", "direction": "in"},
        ]
    )
    assert "already read" in check(em)[0].message


def test_the_stage_field_may_not_also_be_a_field_mapping():
    em = referral(
        [{"canonical": "reason", "native": "Stage__c"}],
        stage={"native": "Stage__c", "map": ALL_STAGES},
    )
    assert any("is the stage field" in m for m in messages(check(em)))


def test_the_match_key_carries_only_the_canonical_id():
    em = referral([{"canonical": "referral_number", "native": "Refsync_Id__c"}])
    assert "match key" in check(em)[0].message
    assert check(referral([{"canonical": "id", "native": "Refsync_Id__c"}])) == []


def test_owning_a_field_that_is_never_read_is_an_error():
    em = referral([{"canonical": "reason", "native": "R", "direction": "out", "owned": True}])
    assert check(em)[0].loc == ("fields", 0, "owned")


def test_two_connections_may_not_own_one_canonical_field():
    def spec(owned):
        return MappingSpec.model_validate(
            {
                "system": "x",
                "entities": {
                    "referral": {
                        "object": "R",
                        "key": "K",
                        "fields": [{"canonical": "reason", "native": "Reason", "owned": owned}],
                        "stage": {"native": "S", "map": ALL_STAGES, "owned": owned},
                    }
                },
            }
        )

    found = check_ownership({"salesforce": spec(True), "hubspot": spec(True), "epic": spec(False)})
    assert [(conn, p.loc) for conn, p in found] == [
        ("hubspot", ("entities", "referral", "fields", 0, "owned")),
        ("hubspot", ("entities", "referral", "stage", "owned")),
    ]
    assert "already owned by connection 'salesforce'" in found[0][1].message


def test_check_mapping_locates_problems_from_the_file_root():
    spec = MappingSpec.model_validate(
        {
            "system": "x",
            "entities": {
                "referral": {
                    "object": "R",
                    "key": "K",
                    "fields": [{"canonical": "nope", "native": "N"}],
                }
            },
        }
    )
    (problem,) = check_mapping(spec, connection="x", phi_allowed=False, writes=False)
    assert problem.loc == ("entities", "referral", "fields", 0, "canonical")
