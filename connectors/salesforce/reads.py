"""Incremental reads: SOQL on ``SystemModstamp`` through ``queryAll``, page by page.

The window of one read is ``[since - lookback, until)``:

- the lower bound is **closed** (``>=``): records that share the bookmark's second and were
  not read yet (a page boundary, a crash, a late commit) are read; the ones that were are
  skipped because the bookmark keeps the ids already seen at its timestamp;
- the upper bound is ``until`` (the run's start) rounded down to the whole second and
  **open**, so the bookmark never passes ``until`` and a record changed again after this read
  always carries a later stamp than the bookmark;
- ``ORDER BY SystemModstamp, Id`` makes the order total, so pages are stable;
- ``queryAll`` returns soft-deleted rows (``IsDeleted = true``) which come out as tombstones.

The SOQL is built only with ``simple_salesforce.format_soql``; field names are checked against
describe first. Pages are read from the client's HTTP session as raw JSON (the fast path: no
per-record objects beyond one :class:`NativeRecord`).

Large reads switch to a Bulk API 2.0 query job (:class:`BulkSwitch`): when the first REST
page says the window holds ``threshold`` records or more (its ``totalSize``), that page is
used as read and the rest of the window, from the bookmark the page leaves (closed lower
bound, ids seen at it skipped, same upper bound), is read as streamed CSV pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.format import format_soql

from connectors.base import Bookmark, NativeRecord, ReadPage
from connectors.salesforce.bulk_read import BulkQuery, Cell
from connectors.salesforce.calls import CallRunner
from connectors.salesforce.errors import raise_for_response
from mapping.errors import StateError

__all__ = ["BulkSwitch", "ReadWindow", "build_soql", "read_pages", "select_list"]

CURSOR = "SystemModstamp"
_SYSTEM_FIELDS = ("Id", CURSOR, "IsDeleted")


@dataclass(frozen=True, slots=True)
class ReadWindow:
    """Where a read starts (``since`` bookmark) and stops (``until``)."""

    since_at: datetime | None
    since_ids: frozenset[str]
    lower: datetime | None
    upper: datetime

    @classmethod
    def from_bookmark(
        cls, since: Bookmark | None, until: datetime, lookback_seconds: int
    ) -> ReadWindow:
        upper = until.astimezone(UTC).replace(microsecond=0)
        if not since or not since.get(CURSOR):
            return cls(None, frozenset(), None, upper)
        try:
            at = datetime.fromisoformat(since[CURSOR])
            ids = frozenset(str(i) for i in since.get("ids") or ())
        except (TypeError, ValueError) as exc:
            raise StateError(
                "the saved Salesforce bookmark is not in the expected form "
                f"({{{CURSOR!r}: ISO time, 'ids': [...]}}); reset the job's bookmark to re-read"
            ) from exc
        if at.tzinfo is None:
            raise StateError("the saved Salesforce bookmark has no time zone; reset it")
        return cls(at, ids, at - timedelta(seconds=lookback_seconds), upper)


def select_list(fields: Sequence[str]) -> list[str]:
    """The system fields every read needs, then the mapped fields, without repeats."""
    return list(dict.fromkeys([*_SYSTEM_FIELDS, *fields]))


def build_soql(object_name: str, select: Sequence[str], window: ReadWindow) -> str:
    """The read's SOQL; names are pre-validated identifiers, values go through format_soql."""
    columns = ", ".join(select)
    if window.lower is None:
        return format_soql(
            "SELECT {:literal} FROM {:literal} WHERE {:literal} < {} ORDER BY {:literal}, Id",
            columns,
            object_name,
            CURSOR,
            window.upper,
            CURSOR,
        )
    return format_soql(
        "SELECT {:literal} FROM {:literal} WHERE {:literal} >= {} AND {:literal} < {} "
        "ORDER BY {:literal}, Id",
        columns,
        object_name,
        CURSOR,
        window.lower,
        CURSOR,
        window.upper,
        CURSOR,
    )


@dataclass(frozen=True, slots=True)
class BulkSwitch:
    """Read the rest of a window of ``threshold`` records or more through ``query``."""

    threshold: int
    query: BulkQuery
    parsers: dict[str, Cell | None]


class _Stamps:
    """Parses Salesforce datetimes, caching by text (bulk updates share stamps)."""

    def __init__(self) -> None:
        self._cache: dict[str, datetime] = {}

    def __call__(self, text: str) -> datetime:
        value = self._cache.get(text)
        if value is None:
            if len(self._cache) > 10_000:
                self._cache.clear()
            value = self._cache[text] = datetime.fromisoformat(text)
        return value


def _relation(dotted: str) -> tuple[str, str, str]:
    rel, _, field = dotted.partition(".")
    return dotted, rel, field


def _flatten(row: dict[str, Any], relations: Sequence[tuple[str, str, str]]) -> None:
    """Replace nested parent objects by the mapped dotted keys (``Partner__r.Refsync_Id__c``)."""
    for dotted, rel, name in relations:
        parent = row.get(rel)
        row[dotted] = parent.get(name) if isinstance(parent, dict) else None
    for _, rel, _ in relations:
        row.pop(rel, None)


class _Cursor:
    """Tracks the bookmark (last stamp, ids seen at it) while records stream by."""

    def __init__(self, window: ReadWindow) -> None:
        self.window = window
        self.at = window.since_at
        self.ids: set[str] = set(window.since_ids)

    def take(self, rows: Sequence[dict[str, Any]], stamps: _Stamps) -> list[NativeRecord]:
        """The records of ``rows`` not read before (ids seen at the bookmark's stamp are
        skipped), the bookmark advanced past them. One loop with locals: it runs per record."""
        since_at, since_ids = self.window.since_at, self.window.since_ids
        last, ids = self.at, self.ids
        records: list[NativeRecord] = []
        append = records.append
        for row in rows:
            record_id, at = row["Id"], stamps(row[CURSOR])
            if at == since_at and record_id in since_ids:
                continue
            append(NativeRecord(record_id, row, row.get("IsDeleted") is True, at))
            if last is None or at > last:
                last, ids = at, {record_id}
            elif at == last:
                ids.add(record_id)
        self.at, self.ids = last, ids
        return records

    def bookmark(self) -> Bookmark:
        if self.at is None:
            return {}
        return {CURSOR: self.at.isoformat(), "ids": sorted(self.ids)}


def read_pages(
    client: Salesforce,
    runner: CallRunner,
    object_name: str,
    select: Sequence[str],
    window: ReadWindow,
    *,
    batch_size: int,
    timeout: float,
    bulk: BulkSwitch | None = None,
) -> Iterator[ReadPage]:
    """Yield the window's records page by page (one query/queryMore call per page)."""
    soql = build_soql(object_name, select, window)
    relations = [_relation(f) for f in select if "." in f]
    cursor, stamps = _Cursor(window), _Stamps()
    fetch = _page_fetcher(client, runner, object_name, batch_size, timeout)
    body = fetch(f"{client.base_url}queryAll/", {"q": soql})
    if (
        bulk is not None
        and not body.get("done", True)
        and body.get("totalSize", 0) >= bulk.threshold
    ):
        first = _page(body, relations, cursor, stamps)
        if first is not None:
            yield first
        yield from _bulk_pages(bulk, object_name, select, cursor, stamps)
        return
    # The next page is fetched while the caller works on this one (server time and client
    # time overlap); one call is in flight at most, so the calls and their order are the same.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sf-read") as pool:
        while True:
            next_url = body.get("nextRecordsUrl")
            more = not body.get("done", True) and next_url
            pending = (
                pool.submit(fetch, f"https://{client.sf_instance}{next_url}", None)
                if more
                else None
            )
            try:
                page = _page(body, relations, cursor, stamps)
                if page is not None:
                    yield page
            except BaseException:
                if pending is not None:
                    pending.cancel()
                raise
            if pending is None:
                return
            body = pending.result()


def _bulk_pages(
    bulk: BulkSwitch, object_name: str, select: Sequence[str], cursor: _Cursor, stamps: _Stamps
) -> Iterator[ReadPage]:
    """The rest of the window after the REST page ``cursor`` has seen, as Bulk CSV pages."""
    window = cursor.window
    if cursor.at is not None:
        at = cursor.at
        window = ReadWindow(at, frozenset(cursor.ids), at, window.upper)
    rest = _Cursor(window)
    for rows in bulk.query.pages(build_soql(object_name, select, window), bulk.parsers):
        page = _rows_page(rows, rest, stamps)
        if page is not None:
            yield page


def _page(
    body: dict[str, Any], relations: list[tuple[str, str, str]], cursor: _Cursor, stamps: _Stamps
) -> ReadPage | None:
    rows = body.get("records", ())
    for row in rows:
        row.pop("attributes", None)
        if relations:
            _flatten(row, relations)
    return _rows_page(rows, cursor, stamps)


def _rows_page(rows: Sequence[dict[str, Any]], cursor: _Cursor, stamps: _Stamps) -> ReadPage | None:
    """Rows with flat (dotted) field names to records, the bookmark advanced past them."""
    records = cursor.take(rows, stamps)
    return ReadPage(records, cursor.bookmark()) if records else None


def _page_fetcher(
    client: Salesforce, runner: CallRunner, object_name: str, batch_size: int, timeout: float
) -> Callable[[str, dict[str, str] | None], dict[str, Any]]:
    where = f"reading {object_name}"

    def get(url: str, params: dict[str, str] | None) -> dict[str, Any]:
        # Headers are read per call: a re-login replaces the token on the client.
        headers = {**client.headers, "Sforce-Query-Options": f"batchSize={batch_size}"}
        response = client.session.get(url, params=params, headers=headers, timeout=timeout)
        raise_for_response(response, where)
        return _decode(response)

    return lambda url, params: runner.run(where, lambda: get(url, params))


def _decode(response: requests.Response) -> dict[str, Any]:
    """The page's JSON, decoded by orjson (the read's largest per-record cost after HTTP)."""
    try:
        body: dict[str, Any] = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        # What orjson refuses but json reads (NaN, Infinity, a BOM). Integers past 64 bits
        # would come out as floats, but Salesforce numbers carry at most 18 digits.
        body = response.json()
    return body
