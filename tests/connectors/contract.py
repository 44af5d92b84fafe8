"""The shared connector contract suite (see ``connectors/base.py``).

Every connector's tests instantiate it against that connector's sandbox, through the real
vendor client::

    from contract import ConnectorContract, ContractHarness

    class TestHubSpotContract(ConnectorContract):
        @pytest.fixture
        def contract(self, hubspot_sandbox) -> ContractHarness:
            return ContractHarness(
                connector=HubSpotConnector(settings, client=...),
                object_name="companies",
                key_field="refsync_id",
                fields=("refsync_id", "name", "phone"),
                make_record=lambda key: {"refsync_id": key, "name": f"Clinic {key}"},
                make_bad_record=lambda key: {"refsync_id": key, "no_such_property": "x"},
            )

(``tests/connectors`` is on ``sys.path`` for the test modules in it, hence ``from contract``.)

What the suite checks, for one object of one system:

- ``check()`` works; ``describe()`` lists every mapped field and the key is unique/external;
- a full read yields every record, each page with a JSON-serialisable bookmark;
- an incremental read from the last bookmark yields a change made after it, and not the
  records that did not change; reading the same window twice yields the same records;
- the bookmark never passes ``until``: a change made after ``until`` is read by the next run;
- ``upsert`` returns one ``WriteResult`` per input, in input order, carrying the key;
- a second upsert of the same records creates nothing new (idempotent by key);
- a bad record yields a per-record ``RecordError`` and the others are written;
- ``archive`` removes records, and an incremental read then yields them as tombstones;
- reading a field the system does not have raises ``SchemaMismatch`` (never silently empty).

Each test uses its own keys (a random prefix), so one sandbox can serve the whole class.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import Bookmark, Connector, NativeRecord, ReadPage
from mapping.errors import RecordError, SchemaMismatch

__all__ = ["ConnectorContract", "ContractHarness", "sleep_to_next_second"]


def sleep_to_next_second() -> None:
    """Wait until the wall clock enters the next whole second.

    Systems stamp changes with second precision, so a change must land in a later second than
    the read that preceded it for an incremental read to tell them apart.
    """
    now = time.time()
    time.sleep(1.0 - (now - int(now)) + 0.01)


@dataclass
class ContractHarness:
    """What a connector's test module provides to the contract suite.

    - ``connector``: a connector pointed at the system's sandbox through the real client;
    - ``object_name`` / ``key_field``: the object under test and its unique/external-id field;
    - ``fields``: the mapped native fields to describe and read (must include ``key_field``);
    - ``make_record(key)``: a valid native record with that key (includes ``key_field``);
    - ``make_bad_record(key)``: a record the system refuses (e.g. a value not in a
      restricted picklist, a missing required field);
    - ``change_record(record)``: the same record with a visible change (default: the first
      non-key text field gets a suffix);
    - ``settle()``: wait until a change becomes distinguishable from the last read (default:
      the next whole second, since modification stamps have second precision);
    - ``now()``: the system's clock (the sandbox's, which may be frozen), for ``until``;
    - ``missing_field``: a field name the object does not have.
    """

    connector: Connector
    object_name: str
    key_field: str
    fields: Sequence[str]
    make_record: Callable[[str], dict[str, Any]]
    make_bad_record: Callable[[str], dict[str, Any]]
    change_record: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    settle: Callable[[], None] = sleep_to_next_second
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    missing_field: str = "Refsync_No_Such_Field__c"
    record_count: int = 5
    prefix: str = field(default_factory=lambda: f"ct-{uuid.uuid4().hex[:10]}-")

    def keys(self, count: int | None = None, tag: str = "") -> list[str]:
        return [f"{self.prefix}{tag}{i:04d}" for i in range(count or self.record_count)]

    def changed(self, record: dict[str, Any]) -> dict[str, Any]:
        if self.change_record is not None:
            return self.change_record(record)
        out = dict(record)
        for name, value in record.items():
            if name != self.key_field and isinstance(value, str):
                out[name] = f"{value} (changed)"
                return out
        raise AssertionError("give ContractHarness.change_record: no text field to change")

    def read_all(
        self, since: Bookmark | None = None, until: datetime | None = None
    ) -> tuple[list[ReadPage], Bookmark | None]:
        pages = list(
            self.connector.read(self.object_name, since=since, fields=self.fields, until=until)
        )
        last = pages[-1].bookmark if pages else since
        return pages, last

    def mine(self, pages: Iterable[ReadPage]) -> dict[str, NativeRecord]:
        """This test's records among ``pages``, by key (the last occurrence wins)."""
        out: dict[str, NativeRecord] = {}
        for page in pages:
            for record in page.records:
                key = record.fields.get(self.key_field)
                if isinstance(key, str) and key.startswith(self.prefix):
                    out[key] = record
        return out

    def write(self, records: Sequence[Mapping[str, Any]]) -> list[Any]:
        return self.connector.upsert(self.object_name, records, key=self.key_field)


class ConnectorContract:
    """Subclass this and provide a ``contract`` fixture returning a :class:`ContractHarness`."""

    @pytest.fixture
    def contract(self) -> ContractHarness:  # pragma: no cover - overridden
        raise NotImplementedError("provide a `contract` fixture returning a ContractHarness")

    def test_check_succeeds_against_the_sandbox(self, contract: ContractHarness) -> None:
        contract.connector.check()

    def test_describe_lists_every_mapped_field(self, contract: ContractHarness) -> None:
        schema = contract.connector.describe(contract.object_name)
        missing = [name for name in contract.fields if name not in schema.fields]
        assert missing == []
        key = schema.fields[contract.key_field]
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
        assert all(r.created is not True for r in second)
        contract.settle()
        pages, _ = contract.read_all()
        assert sorted(contract.mine(pages)) == keys

    def test_bad_record_yields_a_record_error_and_the_rest_succeed(
        self, contract: ContractHarness
    ) -> None:
        good = contract.keys(4, "good")
        bad = contract.keys(1, "bad")[0]
        records = [contract.make_record(k) for k in good[:2]]
        records += [contract.make_bad_record(bad)]
        records += [contract.make_record(k) for k in good[2:]]
        results = contract.write(records)
        assert [r.key for r in results] == [*good[:2], bad, *good[2:]]
        failed = results[2]
        assert isinstance(failed.error, RecordError)
        assert failed.error.key == bad
        assert failed.error.code
        assert all(r.ok for i, r in enumerate(results) if i != 2)

    def test_full_read_yields_every_record_with_a_bookmark(self, contract: ContractHarness) -> None:
        """Failure catalogue: B3."""
        keys = contract.keys()
        written = contract.write([contract.make_record(k) for k in keys])
        contract.settle()
        pages, _ = contract.read_all()
        assert pages
        for page in pages:
            json.dumps(page.bookmark)  # bookmarks are stored as JSON
        mine = contract.mine(pages)
        assert sorted(mine) == keys
        assert {mine[r.key].id for r in written} == {r.id for r in written}
        assert not any(record.deleted for record in mine.values())

    def test_incremental_read_after_a_change_yields_only_the_change(
        self, contract: ContractHarness
    ) -> None:
        keys = contract.keys()
        records = [contract.make_record(k) for k in keys]
        contract.write(records)
        contract.settle()
        _, bookmark = contract.read_all()
        contract.settle()
        contract.write([contract.changed(records[0])])
        contract.settle()
        pages, _ = contract.read_all(since=bookmark)
        assert sorted(contract.mine(pages)) == [keys[0]]

    def test_reading_the_same_window_twice_yields_the_same_records(
        self, contract: ContractHarness
    ) -> None:
        keys = contract.keys()
        contract.write([contract.make_record(k) for k in keys])
        contract.settle()
        until = contract.now()
        first, _ = contract.read_all(until=until)
        second, _ = contract.read_all(until=until)
        assert sorted(contract.mine(first)) == sorted(contract.mine(second)) == keys

    def test_a_change_after_until_is_read_by_the_next_run(self, contract: ContractHarness) -> None:
        keys = contract.keys()
        records = [contract.make_record(k) for k in keys]
        contract.write(records)
        contract.settle()
        until = contract.now()
        contract.settle()
        contract.write([contract.changed(records[1])])
        first, bookmark = contract.read_all(until=until)
        # The record now carries a stamp after ``until``: this run must not see it...
        assert sorted(contract.mine(first)) == [k for k in keys if k != keys[1]]
        contract.settle()
        # ...and the next run, starting from this run's bookmark, must.
        second, _ = contract.read_all(since=bookmark, until=contract.now())
        assert keys[1] in contract.mine(second)

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

    def test_nothing_to_write_makes_no_results(self, contract: ContractHarness) -> None:
        assert contract.write([]) == []
        assert contract.connector.archive(contract.object_name, [], key=contract.key_field) == []

    def test_archiving_an_unknown_key_is_not_an_error(self, contract: ContractHarness) -> None:
        results = contract.connector.archive(
            contract.object_name, contract.keys(1, "gone"), key=contract.key_field
        )
        assert len(results) == 1
        assert results[0].ok

    def test_reading_a_field_the_system_lacks_raises_schema_mismatch(
        self, contract: ContractHarness
    ) -> None:
        fields = [*contract.fields, contract.missing_field]
        with pytest.raises(SchemaMismatch) as info:
            list(contract.connector.read(contract.object_name, since=None, fields=fields))
        assert contract.missing_field in str(info.value)
