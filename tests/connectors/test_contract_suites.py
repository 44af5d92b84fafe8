"""The contract suites run against the in-memory doubles, and fail a connector that breaks
the contract (a suite that could not fail would prove nothing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from connectors.base import FieldSchema, ObjectSchema, ProvisionAction, WriteResult
from connectors.testing import (
    ArchiveContract,
    ContractHarness,
    MemoryConnector,
    MemoryProvisioner,
    MemorySystem,
    ProvisionContract,
    ProvisionSourceContract,
    ReadContract,
    WriteContract,
    memory_schema,
    suites_for,
)


def _harness(connector: MemoryConnector, system: MemorySystem) -> ContractHarness:
    return ContractHarness(
        connector=connector,
        object_name="things",
        key_field="ref",
        fields=("ref", "name", "kind"),
        make_record=lambda key: {"ref": key, "name": f"Thing {key}", "kind": "a"},
        make_bad_record=lambda key: {"ref": key, "name": "Bad", "kind": "zzz"},
        settle=lambda: system.advance(1),
        now=system.clock,
    )


class TestMemoryConnectorContract(*suites_for(MemoryConnector)):  # type: ignore[misc]
    @pytest.fixture
    def contract(self, memory_system: MemorySystem) -> ContractHarness:
        return _harness(MemoryConnector(memory_system), memory_system)


def test_suites_for_composes_the_suites_of_the_declared_capabilities() -> None:
    from connectors.scheduling import SchedulingConnector

    assert suites_for(MemoryConnector) == (ReadContract, WriteContract, ArchiveContract)
    assert suites_for(SchedulingConnector) == (ReadContract,)


class _ReversedResults(MemoryConnector):
    """Breaks the contract: results come back in reverse input order."""

    def upsert(
        self, object_name: str, records: Sequence[Mapping[str, Any]], *, key: str
    ) -> list[WriteResult]:
        return list(reversed(super().upsert(object_name, records, key=key)))


class _DuplicatingUpsert(MemoryConnector):
    """Breaks the contract: every upsert creates (no match on the key)."""

    def upsert(
        self, object_name: str, records: Sequence[Mapping[str, Any]], *, key: str
    ) -> list[WriteResult]:
        out = super().upsert(object_name, records, key=key)
        self.system.rows(object_name).clear()  # the next call finds nothing: creates again
        return out


def test_the_write_suite_fails_a_connector_that_returns_results_out_of_order(
    memory_system: MemorySystem,
) -> None:
    contract = _harness(_ReversedResults(memory_system), memory_system)
    with pytest.raises(AssertionError):
        WriteContract().test_upsert_returns_one_result_per_input_in_order(contract)


def test_the_write_suite_fails_a_connector_that_duplicates_on_a_second_upsert(
    memory_system: MemorySystem,
) -> None:
    contract = _harness(_DuplicatingUpsert(memory_system), memory_system)
    with pytest.raises(AssertionError):
        WriteContract().test_second_upsert_of_the_same_records_creates_nothing_new(contract)


def test_the_memory_system_counts_its_calls(memory_system: MemorySystem) -> None:
    connector = MemoryConnector(memory_system)
    records = [{"ref": f"k{i}", "name": "n", "kind": "b"} for i in range(3)]
    connector.upsert("things", records, key="ref")
    connector.archive("things", ["k0"], key="ref")
    assert memory_system.calls == 4  # three upserts, one delete


def _needs() -> dict[str, ObjectSchema]:
    return {
        "things": memory_schema("things", "ref", {"name": FieldSchema("name", "string")}),
        "visits": memory_schema("visits", "ref", {"at": FieldSchema("at", "datetime")}),
    }


class TestMemoryProvisionerContract(*suites_for(MemoryProvisioner)):  # type: ignore[misc]
    @pytest.fixture
    def contract(self, memory_system: MemorySystem) -> ContractHarness:
        harness = _harness(MemoryProvisioner(memory_system, _needs()), memory_system)
        harness.phi_fields = {"visits": ["patient_name"]}
        return harness


def test_suites_for_adds_the_provision_suites_of_a_connector_that_declares_them() -> None:
    from connectors.hubspot import HubSpotConnector
    from connectors.salesforce import SalesforceConnector

    assert ProvisionContract in suites_for(MemoryProvisioner)
    assert ProvisionContract in suites_for(HubSpotConnector)
    assert ProvisionSourceContract in suites_for(SalesforceConnector)
    assert ProvisionContract not in suites_for(MemoryConnector)


def test_a_memory_provisioner_plans_what_the_system_lacks_and_the_phi_fields_then_makes_them(
    memory_system: MemorySystem,
) -> None:
    connector = MemoryProvisioner(memory_system, _needs())
    plan = connector.provision_plan({"things": ["patient_name"]})
    assert [str(step) for step in plan] == [
        "things: create field patient_name (string)",
        "visits: create object visits (2 fields)",
    ]
    assert connector.apply_provision(plan) == 2
    assert memory_system.calls == 2
    assert "patient_name" in connector.describe("things").fields
    assert set(connector.describe("visits").fields) == {"ref", "at"}


def test_a_field_of_another_type_is_a_conflict_left_alone(memory_system: MemorySystem) -> None:
    needs = {"things": memory_schema("things", "ref", {"name": FieldSchema("name", "number")})}
    connector = MemoryProvisioner(memory_system, needs)
    [conflict] = connector.provision_plan({})
    assert not conflict.applies
    assert str(conflict).startswith("things: CONFLICT name (exists as string")
    assert connector.apply_provision([conflict]) == 0
    assert connector.describe("things").fields["name"].type == "string"


class _ForgetfulProvisioner(MemoryProvisioner):
    """Breaks the contract: says it made the changes but made none."""

    def apply_provision(self, plan: Sequence[ProvisionAction]) -> int:
        return sum(1 for step in plan if step.applies)


def test_the_provision_suite_fails_a_connector_whose_apply_leaves_the_plan_to_do(
    memory_system: MemorySystem,
) -> None:
    contract = _harness(_ForgetfulProvisioner(memory_system, _needs()), memory_system)
    with pytest.raises(AssertionError):
        ProvisionContract().test_a_plan_made_after_applying_a_plan_has_nothing_to_apply(contract)
