"""`refsync provision hubspot`: the plan, applying it, and a second plan that is empty (the
PROVISION contract suite, on an ordinary and on a privacy: full account)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot_support import connector_for

from connectors.hubspot import HubSpotConnector, apply_provision, plan_provision
from connectors.hubspot.provision_spec import PIPELINE_LABEL, STAGE_LABELS
from connectors.sandbox.hubspot import HubSpotSandbox
from connectors.testing import ContractHarness, ProvisionContract


@pytest.fixture
def fresh() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox() as hs:
        yield hs


def test_the_plan_lists_the_pipeline_and_changes_nothing(fresh: HubSpotSandbox) -> None:
    connector = connector_for(fresh)
    plan = plan_provision(connector)
    printed = [str(action) for action in plan]
    assert any("create pipeline Referrals" in line for line in printed)
    assert all(action.kind != "conflict" for action in plan)
    assert connector.pipelines.find(PIPELINE_LABEL) is None  # planning wrote nothing
    assert fresh.stats.write_calls == 0


def test_applying_the_plan_creates_one_stage_per_canonical_stage(fresh: HubSpotSandbox) -> None:
    connector = connector_for(fresh)
    applied = apply_provision(connector, plan_provision(connector))
    assert applied >= 1
    pipeline = connector.pipelines.pipeline(PIPELINE_LABEL)
    assert list(pipeline.stages) == list(STAGE_LABELS.values())
    assert plan_provision(connector_for(fresh)) == []


def test_missing_enumeration_options_are_planned_and_added(fresh: HubSpotSandbox) -> None:
    """Failure catalogue: H2."""
    client = fresh.make_client()
    client.crm.properties.core_api.update(
        "deals",
        "refsync_urgency",
        {"options": [{"label": "Routine", "value": "routine", "displayOrder": 0}]},
    )
    plan = plan_provision(connector_for(fresh))
    [action] = [a for a in plan if a.name == "refsync_urgency"]
    assert action.kind == "add_options" and action.detail == "urgent, stat"
    apply_provision(connector_for(fresh), plan)
    schema = connector_for(fresh).describe("deals")
    assert schema.fields["refsync_urgency"].picklist_values == ("routine", "urgent", "stat")
    assert plan_provision(connector_for(fresh)) == []


def test_missing_stages_of_an_existing_referrals_pipeline_are_added(fresh: HubSpotSandbox) -> None:
    client = fresh.make_client()
    client.crm.pipelines.pipelines_api.create(
        "deals",
        {
            "label": PIPELINE_LABEL,
            "displayOrder": 1,
            "stages": [
                {"label": "Contacted", "displayOrder": 0, "metadata": {"probability": "0.1"}},
                {"label": "Referred", "displayOrder": 1, "metadata": {"probability": "0.2"}},
            ],
        },
    )
    plan = plan_provision(connector_for(fresh))
    assert [a.name for a in plan if a.kind == "add_stage"] == list(STAGE_LABELS.values())[2:]
    apply_provision(connector_for(fresh), plan)
    pipeline = connector_for(fresh).pipelines.pipeline(PIPELINE_LABEL)
    assert set(pipeline.stages) == set(STAGE_LABELS.values())


def test_a_property_with_the_wrong_type_is_reported_not_changed(fresh: HubSpotSandbox) -> None:
    client = fresh.make_client()
    client.crm.properties.core_api.update(
        "companies", "refsync_tier", {"type": "number", "fieldType": "number"}
    )
    plan = plan_provision(connector_for(fresh))
    [conflict] = [a for a in plan if a.name == "refsync_tier"]
    assert conflict.kind == "conflict" and not conflict.applies
    assert "fix it by hand" in str(conflict)


def _provision_harness(connector: HubSpotConnector) -> ContractHarness:
    return ContractHarness(
        connector=connector,
        object_name="deals",
        key_field="refsync_id",
        fields=(),
        make_record=lambda key: {"refsync_id": key},
    )


class TestHubSpotProvisionContract(ProvisionContract):
    @pytest.fixture
    def contract(self, fresh: HubSpotSandbox) -> ContractHarness:
        return _provision_harness(connector_for(fresh))


class TestFullHubSpotProvisionContract(ProvisionContract):
    """A privacy: full account: the PHI properties are planned as sensitive data."""

    @pytest.fixture
    def contract(self, fresh: HubSpotSandbox) -> ContractHarness:
        fresh.sensitive_data = True
        connector = connector_for(
            fresh, access_token=fresh.sensitive_token, sensitive_data="sensitive"
        )
        harness = _provision_harness(connector)
        harness.phi_fields = {"deals": ["refsync_patient_name"]}
        return harness
