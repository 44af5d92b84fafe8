"""The contract suites run against the in-memory double, and fail a connector that breaks
the contract (a suite that could not fail would prove nothing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from connectors.base import WriteResult
from connectors.testing import (
    ArchiveContract,
    ContractHarness,
    MemoryConnector,
    MemorySystem,
    ReadContract,
    WriteContract,
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
