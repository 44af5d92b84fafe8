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

import pytest

from connectors.base import Capability, Connector
from connectors.testing.harness import ContractHarness
from mapping.errors import RecordError, SchemaMismatch

__all__ = ["ArchiveContract", "ConnectorContract", "ReadContract", "WriteContract", "suites_for"]


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


_SUITES: tuple[tuple[Capability, type[_Suite]], ...] = (
    (Capability.READ, ReadContract),
    (Capability.WRITE, WriteContract),
    (Capability.ARCHIVE, ArchiveContract),
)


def suites_for(connector: type[Connector]) -> tuple[type[_Suite], ...]:
    """The suites of every capability ``connector`` declares (read, write, archive)."""
    return tuple(suite for cap, suite in _SUITES if connector.supports(cap))


class ConnectorContract(ReadContract, WriteContract, ArchiveContract):
    """All three suites: a connector that reads, writes and archives."""
