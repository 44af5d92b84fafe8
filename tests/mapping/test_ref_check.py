"""`validate` names a `ref` the hub could never resolve (mapping.spec_check.check_refs)."""

from __future__ import annotations

from mapping.spec import MappingSpec
from mapping.spec_check import check_refs


def _spec(entities: dict) -> MappingSpec:
    return MappingSpec.model_validate({"system": "crm", "entities": entities})


OUTREACH = {
    "object": "Activity", "key": "Ext_Id",
    "fields": [
        {"canonical": "subject", "native": "Subject"},
        {"canonical": "partner_id", "native": "AccountId", "direction": "in",
         "transforms": [{"ref": "partner"}]},
        {"canonical": "clinician_ids", "native": "Who", "direction": "out",
         "transforms": [{"ref": {"entity": "clinician"}}]},
    ],
}  # fmt: skip
PARTNER = {
    "object": "Account",
    "key": "Ext_Id",
    "fields": [{"canonical": "name", "native": "Name"}],
}


def test_an_inbound_ref_to_an_entity_the_mapping_does_not_map_is_reported_where_it_is():
    [(connection, problem)] = check_refs({"crm": _spec({"outreach": OUTREACH})})
    assert connection == "crm"
    assert problem.loc == ("entities", "outreach", "fields", 1, "transforms", 0)
    assert "has no partner entity" in problem.message and "AccountId" in problem.message


def test_a_ref_the_mapping_can_resolve_or_that_only_goes_out_is_fine():
    assert check_refs({"crm": _spec({"outreach": OUTREACH, "partner": PARTNER})}) == []
