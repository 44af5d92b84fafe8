"""Incremental reads through CRM search, past the 10,000-result cap, skipping nothing.

HubSpot search returns at most 10,000 results per query (paging further answers 400) and
honours one sort. :class:`SearchWalker` reads a window ``[cursor, until]`` sorted by the
modified date, ascending, 200 per page:

- **closed lower bound with id tie-break**: a :class:`Cursor` ``(ts, id)`` means "every
  record modified before ``ts`` is read, and those at ``ts`` with ``hs_object_id <= id``";
  the next query asks ``(modified == ts AND hs_object_id > id) OR ts < modified <= until``
  (``modified >= ts`` when ``id`` is None), so a record sharing the bookmark's stamp is never
  skipped;
- **split by time**: before a query would pass the cap it is restarted from the last
  *completed* timestamp (a stamp is complete once a later one was seen); records at the
  incomplete stamp that were already yielded are not yielded again;
- **then by hs_object_id**: when more records share one stamp than a query can return, that
  stamp is walked in ``hs_object_id`` order (``modified == ts AND hs_object_id > last``),
  restarting every 10,000, so any number of records with one stamp are each read once.

Every yielded page carries the cursor that is safe to commit after it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.hubspot.ratelimit import SEARCH
from connectors.hubspot.transport import Transport

__all__ = ["Cursor", "SearchWalker", "modified_property", "parse_ms"]

Json = dict[str, Any]

_OBJECT_ID = "hs_object_id"


def modified_property(object_type: str) -> str:
    """Contacts use ``lastmodifieddate``; every other object ``hs_lastmodifieddate``."""
    return "lastmodifieddate" if object_type in ("contacts", "0-1") else "hs_lastmodifieddate"


def parse_ms(value: Any) -> int | None:
    """Epoch ms from HubSpot's ISO instant (``...Z``) or an epoch-ms string."""
    if value is None or value == "":
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Cursor:
    ts: int
    id: int | None = None


@dataclass
class _Run:
    """The stamp being read (not yet known complete) and what was yielded at it."""

    ts: int | None = None
    max_id: int = 0
    ids: set[int] | None = None

    def see(self, ts: int, rid: int, completed: Cursor) -> Cursor:
        """Track one record; returns the (possibly advanced) completed cursor."""
        if self.ts is None or ts > self.ts:
            if self.ts is not None:
                completed = Cursor(self.ts, self.max_id)
            self.ts, self.max_id, self.ids = ts, rid, set()
        else:
            self.max_id = max(self.max_id, rid)
        assert self.ids is not None
        self.ids.add(rid)
        return completed


class SearchWalker:
    """Walks one object's changes in ``[start, until_ms]``; see the module docstring."""

    def __init__(
        self,
        transport: Transport,
        object_type: str,
        properties: Sequence[str],
        *,
        page_size: int = 200,
        cap: int = 10_000,
    ) -> None:
        self._transport = transport
        self._object_type = object_type
        self._modified = modified_property(object_type)
        self._properties = list(dict.fromkeys([*properties, self._modified, _OBJECT_ID]))
        self._page = page_size
        self._cap = cap
        self.queries = 0

    def walk(self, start: Cursor, until_ms: int) -> Iterator[tuple[list[Json], Cursor]]:
        cursor, seen_ts, seen = start, None, set[int]()
        while True:
            outcome = yield from self._time_pass(cursor, until_ms, seen_ts, seen)
            if outcome is None:
                return
            mode, cursor, seen_ts, seen = outcome
            if mode == "keyset":
                assert seen_ts is not None
                cursor = yield from self._keyset(seen_ts, cursor, seen)
                seen_ts, seen = None, set()

    def _time_pass(
        self, cursor: Cursor, until_ms: int, skip_ts: int | None, skip: set[int]
    ) -> Generator[
        tuple[list[Json], Cursor], None, tuple[str, Cursor, int | None, set[int]] | None
    ]:
        """One query sorted by modified date; returns how to go on, or None when done."""
        groups = self._window(cursor, until_ms)
        run, completed, after, fetched = _Run(), cursor, None, 0
        while True:
            data = self._search(groups, self._modified, after)
            results = data.get("results") or []
            fetched += len(results)
            page: list[Json] = []
            for record in results:
                ts, rid = self._stamp(record), int(record["id"])
                completed = run.see(ts, rid, completed)
                if not (ts == skip_ts and rid in skip):
                    page.append(record)
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if after is None or not results:
                yield page, Cursor(run.ts, run.max_id) if run.ts is not None else completed
                return None
            yield page, completed
            one_stamp = self._stamp(results[0]) == self._stamp(results[-1]) == run.ts
            crowded = fetched == len(results) and int(data.get("total") or 0) > self._cap
            if fetched + self._page > self._cap or (crowded and one_stamp):
                return self._restart(cursor, completed, run, skip_ts, skip)

    def _restart(
        self, cursor: Cursor, completed: Cursor, run: _Run, skip_ts: int | None, skip: set[int]
    ) -> tuple[str, Cursor, int | None, set[int]]:
        yielded = set(run.ids or ())
        if run.ts == skip_ts:
            yielded |= skip
        if completed != cursor:
            return "time", completed, run.ts, yielded
        # Every result shares one stamp: walk that stamp by id.
        start_id = cursor.id if cursor.ts == run.ts else None
        assert run.ts is not None
        return "keyset", Cursor(run.ts, start_id), run.ts, yielded

    def _keyset(
        self, ts: int, cursor: Cursor, skip: set[int]
    ) -> Generator[tuple[list[Json], Cursor], None, Cursor]:
        last = cursor.id
        while True:
            filters = [self._filter(self._modified, "EQ", ts)]
            if last is not None:
                filters.append(self._filter(_OBJECT_ID, "GT", last))
            after, fetched = None, 0
            while True:
                data = self._search([filters], _OBJECT_ID, after)
                results = data.get("results") or []
                fetched += len(results)
                if results:
                    last = max(last or 0, *(int(r["id"]) for r in results))
                page = [r for r in results if int(r["id"]) not in skip]
                after = ((data.get("paging") or {}).get("next") or {}).get("after")
                done = after is None or not results
                yield page, Cursor(ts, last)
                if done:
                    return Cursor(ts, last)
                if fetched + self._page > self._cap:
                    break

    def _window(self, cursor: Cursor, until_ms: int) -> list[list[Json]]:
        upper = self._filter(self._modified, "LTE", until_ms)
        if cursor.id is None:
            return [[self._filter(self._modified, "GTE", cursor.ts), upper]]
        return [
            [
                self._filter(self._modified, "EQ", cursor.ts),
                self._filter(_OBJECT_ID, "GT", cursor.id),
            ],
            [self._filter(self._modified, "GT", cursor.ts), upper],
        ]

    def _search(self, groups: list[list[Json]], sort: str, after: str | None) -> Json:
        body: dict[str, Any] = {
            "filterGroups": [{"filters": g} for g in groups],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": self._properties,
            "limit": self._page,
        }
        if after is not None:
            body["after"] = str(after)
        self.queries += 1
        response = self._transport.call(
            "objects_search",
            "do_search",
            self._object_type,
            body,
            what=f"{self._object_type} search",
            bucket=SEARCH,
        )
        return response.data or {}

    def _stamp(self, record: Json) -> int:
        props = record.get("properties") or {}
        ms = parse_ms(props.get(self._modified)) or parse_ms(record.get("updatedAt"))
        return ms or 0

    @staticmethod
    def _filter(prop: str, op: str, value: int) -> dict[str, str]:
        return {"propertyName": prop, "operator": op, "value": str(value)}
