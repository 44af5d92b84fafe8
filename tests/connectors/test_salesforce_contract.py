"""The shared connector contract, run against the Salesforce sandbox through the real client."""

from __future__ import annotations

from typing import Any

import pytest
from contract import ConnectorContract, ContractHarness
from sf_support import make_connector, referral, sandbox, sf_sandbox  # noqa: F401

from connectors.sandbox import SalesforceSandbox


class TestReferralContract(ConnectorContract):
    """A custom object with a restricted picklist and external-id lookups."""

    @pytest.fixture
    def contract(self, sandbox: SalesforceSandbox) -> ContractHarness:  # noqa: F811
        return ContractHarness(
            connector=make_connector(sandbox),
            object_name="Referral__c",
            key_field="Refsync_Id__c",
            fields=("Refsync_Id__c", "Referral_Number__c", "Stage__c", "Reason__c"),
            make_record=referral,
            make_bad_record=lambda key: referral(key, Stage__c="Not A Stage"),
            change_record=lambda record: {**record, "Reason__c": "arrhythmia"},
            settle=lambda: sandbox.advance(1),
            now=sandbox.now,
        )


def _contact(key: str) -> dict[str, Any]:
    return {"Refsync_Id__c": key, "LastName": f"Rivera {key[-4:]}", "Email": "dr@example.org"}


class TestContactContract(ConnectorContract):
    """A standard object with a required field."""

    @pytest.fixture
    def contract(self, sandbox: SalesforceSandbox) -> ContractHarness:  # noqa: F811
        return ContractHarness(
            connector=make_connector(sandbox),
            object_name="Contact",
            key_field="Refsync_Id__c",
            fields=("Refsync_Id__c", "LastName", "Email", "Account.Refsync_Id__c"),
            make_record=_contact,
            make_bad_record=lambda key: {"Refsync_Id__c": key, "Email": "x@example.org"},
            change_record=lambda record: {**record, "LastName": "Okafor"},
            settle=lambda: sandbox.advance(1),
            now=sandbox.now,
        )
