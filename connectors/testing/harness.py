"""What a connector's test module gives the contract suites: :class:`ContractHarness`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.base import Bookmark, Connector, NativeRecord, ReadPage, WriteResult

__all__ = ["ContractHarness", "NativeDict", "sleep_to_next_second"]

NativeDict = dict[str, Any]


def sleep_to_next_second() -> None:
    """Wait until the wall clock enters the next whole second.

    Systems stamp changes with second precision, so a change must land in a later second than
    the read that preceded it for an incremental read to tell them apart.
    """
    now = time.time()
    time.sleep(1.0 - (now - int(now)) + 0.01)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ContractHarness:
    """One object of one system, as the contract suites exercise it.

    - ``connector``: the connector under test, pointed at a sandbox, a local database, or an
      in-memory double (:mod:`connectors.testing.memory`);
    - ``object_name`` / ``key_field``: the object under test and its match-key field;
    - ``fields``: native fields to describe and read (the read suite's selection);
    - ``make_record(key)``: a valid native record whose ``id_field`` holds ``key``;
    - ``make_bad_record(key)``: a record the system refuses (write suite);
    - ``seed(records)``: put records into the system for the read suite (default: the
      connector's own ``upsert``; a read-only connector's test writes export files);
    - ``change_record(record)``: the same record with a visible change (default: the first
      text field other than the key and ``id_field`` gets a suffix);
    - ``settle()``: wait until a change is distinguishable from the last read (default: the
      next whole second; a sandbox or a double with its own clock advances it instead);
    - ``now()``: the system's clock, for ``until``;
    - ``read_shows_change(original, read)``: whether a record as read carries the change
      (default: the fields ``change_record`` changed read back equal);
    - ``id_field``: the field that tells this test's records apart (default ``key_field``;
      a source whose records never carry refsync's key names another, e.g. a referral
      number);
    - ``missing_field``: a field name the object does not have;
    - ``phi_fields``: native object -> fields planned to receive PHI (the provision suite).
    """

    connector: Connector
    object_name: str
    key_field: str
    fields: Sequence[str]
    make_record: Callable[[str], NativeDict]
    make_bad_record: Callable[[str], NativeDict] | None = None
    seed: Callable[[Sequence[NativeDict]], None] | None = None
    change_record: Callable[[NativeDict], NativeDict] | None = None
    settle: Callable[[], None] = sleep_to_next_second
    now: Callable[[], datetime] = _utc_now
    id_field: str | None = None
    read_shows_change: Callable[[NativeDict, NativeRecord], bool] | None = None
    missing_field: str = "refsync_no_such_field"
    record_count: int = 5
    phi_fields: Mapping[str, Sequence[str]] = field(default_factory=dict)
    prefix: str = field(default_factory=lambda: f"ct-{uuid.uuid4().hex[:10]}-")

    def keys(self, count: int | None = None, tag: str = "") -> list[str]:
        return [f"{self.prefix}{tag}{i:04d}" for i in range(count or self.record_count)]

    @property
    def identity(self) -> str:
        return self.id_field or self.key_field

    def put(self, records: Sequence[NativeDict]) -> None:
        """Seed ``records`` for a read test (``seed``, else the connector's ``upsert``)."""
        if self.seed is not None:
            self.seed(records)
            return
        results = self.write(records)
        failed = [r.error for r in results if not r.ok]
        if failed:
            raise AssertionError(f"seeding through upsert failed: {failed}")

    def changed(self, record: NativeDict) -> NativeDict:
        if self.change_record is not None:
            return self.change_record(record)
        out = dict(record)
        for name, value in record.items():
            if name not in (self.key_field, self.identity) and isinstance(value, str):
                out[name] = f"{value} (changed)"
                return out
        raise AssertionError("give ContractHarness.change_record: no text field to change")

    def shows_change(self, original: NativeDict, read: NativeRecord) -> bool:
        """Whether ``read`` holds what :meth:`changed` changed in ``original``."""
        if self.read_shows_change is not None:
            return self.read_shows_change(original, read)
        changed = self.changed(original)
        names = [n for n, v in changed.items() if original.get(n) != v]
        return bool(names) and all(read.fields.get(n) == changed[n] for n in names)

    def bad_record(self, key: str) -> NativeDict:
        if self.make_bad_record is None:
            raise AssertionError("the write suite needs ContractHarness.make_bad_record")
        return self.make_bad_record(key)

    def read_all(
        self, since: Bookmark | None = None, until: datetime | None = None
    ) -> tuple[list[ReadPage], Bookmark | None]:
        pages = list(
            self.connector.read(self.object_name, since=since, fields=self.fields, until=until)
        )
        last = pages[-1].bookmark if pages else since
        return pages, last

    def mine(self, pages: Iterable[ReadPage]) -> dict[str, NativeRecord]:
        """This test's records among ``pages``, by ``id_field`` (the last occurrence wins)."""
        out: dict[str, NativeRecord] = {}
        for page in pages:
            for record in page.records:
                value = record.fields.get(self.identity)
                if isinstance(value, str) and value.startswith(self.prefix):
                    out[value] = record
        return out

    def write(self, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        return self.connector.upsert(self.object_name, records, key=self.key_field)
