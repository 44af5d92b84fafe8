"""The shared connector contract, for HubSpot companies and deals, through the real client."""

from __future__ import annotations

import pytest
from contract import ConnectorContract, ContractHarness
from hubspot_support import connector_for, hs, hubspot_sandbox  # noqa: F401  (fixtures)

from connectors.sandbox.hubspot import HubSpotSandbox


class TestHubSpotCompaniesContract(ConnectorContract):
    @pytest.fixture
    def contract(self, hs: HubSpotSandbox) -> ContractHarness:  # noqa: F811
        return ContractHarness(
            connector=connector_for(hs),
            object_name="companies",
            key_field="refsync_id",
            fields=("refsync_id", "name", "phone", "refsync_partner_kind"),
            make_record=lambda key: {
                "refsync_id": key,
                "name": f"Clinic {key}",
                "refsync_partner_kind": "hospital",
            },
            make_bad_record=lambda key: {
                "refsync_id": key,
                "name": "Bad",
                "refsync_partner_kind": "not_a_kind",
            },
            missing_field="refsync_no_such_property",
        )


class TestHubSpotDealsContract(ConnectorContract):
    @pytest.fixture
    def contract(self, hs: HubSpotSandbox) -> ContractHarness:  # noqa: F811
        return ContractHarness(
            connector=connector_for(hs),
            object_name="deals",
            key_field="refsync_id",
            fields=("refsync_id", "dealname", "dealstage", "pipeline", "refsync_urgency"),
            make_record=lambda key: {
                "refsync_id": key,
                "dealname": f"Referral {key}",
                "dealstage": "Referred",
                "refsync_urgency": "routine",
            },
            make_bad_record=lambda key: {
                "refsync_id": key,
                "dealname": "Bad",
                "dealstage": "No Such Stage",
            },
            missing_field="refsync_no_such_property",
        )
