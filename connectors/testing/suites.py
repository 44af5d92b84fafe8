"""The contract suites, one per capability, composed for a connector by :func:`suites_for`.

Like singer-sdk's tap and target tests: a source runs :class:`ReadContract`, a destination
:class:`WriteContract` (plus :class:`ArchiveContract` when it archives), each against a
``contract`` fixture returning a :class:`~connectors.testing.harness.ContractHarness`::

    from connectors.testing import ContractHarness, suites_for

    class TestMyConnectorContract(*suites_for(MyConnector)):
        @pytest.fixture
        def contract(self, my_system) -> ContractHarness:
            return ContractHarness(connector=..., object_name=..., key_field=..., ...)

Each test uses its own keys (a random prefix), so one system can serve the whole class.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.base import Capability, Connector
from connectors.testing.harness import ContractHarness
from mapping.errors import RecordError, SchemaMismatch

__all__ = [
    "ArchiveContract",
    "ConnectorContract",
    "ProvisionContract",
    "ProvisionSourceContract",
    "ReadContract",
    "WriteContract",
    "suites_for",
]


class _Suite:
    @pytest.fixture
    def contract(self) -> ContractHarness:  # pragma: no cover - overridden
        raise NotImplementedError("provide a `contract` fixture returning a ContractHarness")


class ReadContract(_Suite):
    """READ: check, describe, full and incremental reads, bookmarks, ``until``."""

    def test_check_succeeds(self, contract: ContractHarness) -> None:
        contract.connector.check()

    def test_describe_lists_every_field_read(self, contract: ContractHarness) -> None:
        schema = contract.connector.describe(contract.object_name)
        assert [name for name in contract.fields if name not in schema.fields] == []

    def test_full_read_yields_every_record_with_a_json_bookmark(
        self, contract: ContractHarness
    ) -> None:
        """Failure catalogue: B3 (every page to the end)."""
        keys = contract.keys()
        contract.put([contract.make_record(k) for k in keys])
        contract.settle()
        pages, _ = contract.read_all()
        assert pages
        for page in pages:
            json.dumps(page.bookmark)  # bookmarks are stored as JSON
        mine = contract.mine(pages)
        assert sorted(mine) == keys
        assert all(record.id for record in mine.values())
        assert not any(record.deleted for record in mine.values())

    def test_incremental_read_after_a_change_yields_only_the_change(
        self, contract: ContractHarness
    ) -> None:
        keys = contract.keys()
        records = [contract.make_record(k) for k in keys]
        contract.put(records)
        contract.settle()
        _, bookmark = contract.read_all()
        contract.settle()
        contract.put([contract.changed(records[0])])
        contract.settle()
        pages, _ = contract.read_all(since=bookmark)
        assert sorted(contract.mine(pages)) == [keys[0]]

    def test_reading_the_same_window_twice_yields_the_same_records(
        self, contract: ContractHarness
    ) -> None:
        keys = contract.keys()
        contract.put([contract.make_record(k) for k in keys])
        contract.settle()
        until = contract.now()
        first, _ = contract.read_all(until=until)
        second, _ = contract.read_all(until=until)
        assert sorted(contract.mine(first)) == sorted(contract.mine(second)) == keys

    def test_a_change_after_until_is_read_by_the_next_run(self, contract: ContractHarness) -> None:
        keys = contract.keys()
        records = [contract.make_record(k) for k in keys]
        contract.put(records)
        contract.settle()
        until = contract.now()
        contract.settle()
        contract.put([contract.changed(records[1])])
        first, bookmark = contract.read_all(until=until)
        # The change carries a stamp after ``until``: this run must not see it...
        before = contract.mine(first).get(keys[1])
        assert before is None or not contract.shows_change(records[1], before)
        contract.settle()
        # ...and the next run, starting from this run's bookmark, must.
        second, _ = contract.read_all(since=bookmark, until=contract.now())
        after = contract.mine(second).get(keys[1])
        assert after is not None and contract.shows_change(records[1], after)

    def test_reading_a_field_the_system_lacks_raises_schema_mismatch(
        self, contract: ContractHarness
    ) -> None:
        fields = [*contract.fields, contract.missing_field]
        with pytest.raises(SchemaMismatch) as info:
            list(contract.connector.read(contract.object_name, since=None, fields=fields))
        assert contract.missing_field in str(info.value)


class WriteContract(_Suite):
    """WRITE: upsert by key, one result per input in order, idempotent, per-record errors."""

    def test_the_match_key_is_unique_or_an_external_id(self, contract: ContractHarness) -> None:
        key = contract.connector.describe(contract.object_name).fields[contract.key_field]
        assert key.external_id or key.unique

    def test_upsert_returns_one_result_per_input_in_order(self, contract: ContractHarness) -> None:
        keys = contract.keys()
        results = contract.write([contract.make_record(k) for k in keys])
        assert [r.key for r in results] == keys
        assert all(r.ok and r.id for r in results), [r.error for r in results]

    def test_second_upsert_of_the_same_records_creates_nothing_new(
        self, contract: ContractHarness
    ) -> None:
        keys = contract.keys()
        records = [contract.make_record(k) for k in keys]
        first = contract.write(records)
        second = contract.write(records)
        assert [r.id for r in second] == [r.id for r in first]
        assert len({r.id for r in first}) == len(keys)
        assert all(r.created is not True for r in second)
        if contract.connector.supports(Capability.READ):
            contract.settle()
            pages, _ = contract.read_all()
            assert sorted(contract.mine(pages)) == keys

    def test_bad_record_yields_a_record_error_and_the_rest_succeed(
        self, contract: ContractHarness
    ) -> None:
        good = contract.keys(4, "good")
        bad = contract.keys(1, "bad")[0]
        records = [contract.make_record(k) for k in good[:2]]
        records += [contract.bad_record(bad)]
        records += [contract.make_record(k) for k in good[2:]]
        results = contract.write(records)
        assert [r.key for r in results] == [*good[:2], bad, *good[2:]]
        failed = results[2]
        assert isinstance(failed.error, RecordError)
        assert failed.error.key == bad
        assert failed.error.code
        assert all(r.ok for i, r in enumerate(results) if i != 2)

    def test_nothing_to_write_makes_no_results(self, contract: ContractHarness) -> None:
        assert contract.write([]) == []


class ArchiveContract(_Suite):
    """ARCHIVE: removes records by key; a later incremental read yields them as tombstones."""

    def test_archive_removes_records_and_the_next_read_yields_tombstones(
        self, contract: ContractHarness
    ) -> None:
        keys = contract.keys()
        written = contract.write([contract.make_record(k) for k in keys])
        contract.settle()
        _, bookmark = contract.read_all()
        contract.settle()
        results = contract.connector.archive(contract.object_name, keys[:2], key=contract.key_field)
        assert [r.key for r in results] == keys[:2]
        assert all(r.ok for r in results), [r.error for r in results]
        contract.settle()
        pages, _ = contract.read_all(since=bookmark)
        tombstones = {r.id for page in pages for r in page.records if r.deleted}
        assert {w.id for w in written[:2]} <= tombstones
        live = {r.id for page in pages for r in page.records if not r.deleted}
        assert not live & {w.id for w in written[:2]}

    def test_archiving_nothing_makes_no_results(self, contract: ContractHarness) -> None:
        assert contract.connector.archive(contract.object_name, [], key=contract.key_field) == []

    def test_archiving_an_unknown_key_is_not_an_error(self, contract: ContractHarness) -> None:
        results = contract.connector.archive(
            contract.object_name, contract.keys(1, "gone"), key=contract.key_field
        )
        assert len(results) == 1
        assert results[0].ok


class ProvisionContract(_Suite):
    """PROVISION: planning reads only, applying makes what the plan lists, and a plan made
    after that has nothing left to apply (``refsync provision TYPE --apply`` run twice is
    harmless). ``contract.phi_fields`` are the fields planned to receive PHI."""

    def test_planning_twice_gives_the_same_plan(self, contract: ContractHarness) -> None:
        first = contract.connector.provision_plan(contract.phi_fields)
        assert contract.connector.provision_plan(contract.phi_fields) == first

    def test_a_plan_made_after_applying_a_plan_has_nothing_to_apply(
        self, contract: ContractHarness
    ) -> None:
        plan = contract.connector.provision_plan(contract.phi_fields)
        done = contract.connector.apply_provision(plan)
        assert done == sum(1 for step in plan if step.applies)
        again = contract.connector.provision_plan(contract.phi_fields)
        assert [step for step in again if step.applies] == []

    def test_applying_only_the_notes_of_a_plan_changes_nothing(
        self, contract: ContractHarness
    ) -> None:
        plan = contract.connector.provision_plan(contract.phi_fields)
        notes = [step for step in plan if not step.applies]
        assert contract.connector.apply_provision(notes) == 0
        assert contract.connector.provision_plan(contract.phi_fields) == plan

    def test_every_step_prints_as_one_line_naming_what_it_changes(
        self, contract: ContractHarness
    ) -> None:
        for step in contract.connector.provision_plan(contract.phi_fields):
            printed = str(step)
            assert step.name in printed and step.object_type in printed
            assert "\n" not in printed


class ProvisionSourceContract(_Suite):
    """PROVISION_SOURCE: the source lands under the folder given, the same files each time,
    and the deploy command names that folder. A test class may give ``connector_type``
    instead of a ``contract`` (the hooks are class methods: no connection is needed)."""

    @pytest.fixture
    def connector_type(self, contract: ContractHarness) -> type[Connector]:
        return type(contract.connector)

    def test_the_source_is_written_under_the_folder_given(
        self, connector_type: type[Connector], tmp_path: Path
    ) -> None:
        out = tmp_path / "out"
        written = connector_type.write_provision_source(out)
        assert written
        assert all(
            path.is_file() and path.resolve().is_relative_to(out.resolve()) for path in written
        )

    def test_writing_the_source_twice_writes_the_same_files(
        self, connector_type: type[Connector], tmp_path: Path
    ) -> None:
        first = {
            p.relative_to(tmp_path / "a"): p.read_bytes()
            for p in connector_type.write_provision_source(tmp_path / "a")
        }
        second = {
            p.relative_to(tmp_path / "b"): p.read_bytes()
            for p in connector_type.write_provision_source(tmp_path / "b")
        }
        assert first == second

    def test_the_deploy_command_names_the_folder(
        self, connector_type: type[Connector], tmp_path: Path
    ) -> None:
        assert str(tmp_path / "src") in connector_type.deploy_command(tmp_path / "src")


_SUITES: tuple[tuple[Capability, type[_Suite]], ...] = (
    (Capability.READ, ReadContract),
    (Capability.WRITE, WriteContract),
    (Capability.ARCHIVE, ArchiveContract),
    (Capability.PROVISION, ProvisionContract),
    (Capability.PROVISION_SOURCE, ProvisionSourceContract),
)


def suites_for(connector: type[Connector]) -> tuple[type[_Suite], ...]:
    """The suites of every capability ``connector`` declares (read, write, archive,
    provisioning)."""
    return tuple(suite for cap, suite in _SUITES if connector.supports(cap))


class ConnectorContract(ReadContract, WriteContract, ArchiveContract):
    """All three suites: a connector that reads, writes and archives."""
