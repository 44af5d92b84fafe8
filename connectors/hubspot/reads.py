"""Reads of one object type: full (list API) or incremental (search), with tombstones.

- **Full read** (no bookmark): ``GET /crm/v3/objects/{type}`` 100 per page (no result cap);
  records modified after ``until`` are left for the next run. Pages carry the list cursor,
  so an interrupted full read resumes where it stopped; the last page's bookmark starts the
  incremental reads at ``until``.
- **Incremental read**: :class:`~connectors.hubspot.search.SearchWalker` (200 per page,
  past the 10,000 cap) from a lookback before the bookmark, for search-index lag, without
  delivering a record twice (:mod:`connectors.hubspot.lookback`), then archived records
  (``archived=true``, which search never returns) archived since the last run, as
  tombstones.
- **Long property lists** (catalogue case G3): the list API takes ``properties`` in the
  URL, and HubSpot answers 414 past about 8,000 characters. When the mapped properties would
  make the query longer than ``max_url_chars``, full reads list ids only and fetch each
  page's properties with one batch read (POST body, no URL limit): one more call per 100
  records, never a dropped property.
- **Associations** are read for every chunk of up to 1,000 records (one v4 batch read per
  associated type). Changing a link does not change a record's modified date (catalogue
  case D4), so an object read with links is also *reconciled* every
  ``association_reconcile_hours`` (default 24): one pass of the list API over every record
  with its links, before that run's incremental read. Its cost per pass, for N records:
  ceil(N/100) list calls plus ceil(N/1000) association reads per linked type (for 100,000
  deals linked to companies and contacts: 1,000 + 200 calls: 1,200 calls at the
  default 190 calls per 10 s, about a minute).

Records come back as plain JSON (the client's raw-response path), never as model objects.

Bookmarks (JSON): ``{"ts": ms, "id": hs_object_id | None, "archived_ts": ms, "recent":
{id: ms}}`` for incremental reads (see :class:`~connectors.hubspot.search.Cursor`), ``{"full_after":
cursor, "start": ms}`` while a full read is under way; ``reconciled_at`` (ms) is the last
association reconciliation and ``reconcile_after`` the list cursor of one under way. The
virtual ``engagements`` object keeps one such bookmark per engagement type.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from connectors.base import Bookmark, NativeRecord, ReadPage
from connectors.hubspot.associations import AssociationStore, association_targets
from connectors.hubspot.lookback import Lookback, later
from connectors.hubspot.pipelines import PipelineCatalog
from connectors.hubspot.readahead import read_ahead
from connectors.hubspot.search import Cursor, SearchWalker, modified_property, parse_ms
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.transport import Transport

__all__ = ["ObjectReader"]

_CHUNK = 1000
_AHEAD = 10  # list pages fetched before they are used: one chunk
_STAMP_MS = "refsync:stamp_ms"


class ObjectReader:
    """Reads one object type; ``read(since, until_ms)`` yields :class:`ReadPage` objects."""

    def __init__(
        self,
        transport: Transport,
        settings: HubSpotSettings,
        object_type: str,
        fields: Sequence[str],
        *,
        associations: AssociationStore,
        pipelines: PipelineCatalog | None = None,
    ) -> None:
        self._transport = transport
        self._settings = settings
        self._type = object_type
        self._links = association_targets(fields)
        self._modified = modified_property(object_type)
        plain = [f for f in fields if not f.startswith("associations.")]
        self._properties = list(dict.fromkeys([*plain, self._modified]))
        self._associations = associations
        self._pipelines = pipelines if {"dealstage", "pipeline"} & set(plain) else None
        self.lookback = Lookback(settings.search_lookback_seconds * 1000)
        self._reconciled = 0
        query = urlencode([("properties", p) for p in self._properties])
        self.batch_properties = len(query) > settings.max_url_chars

    def read(
        self, since: Bookmark | None, until_ms: int, *, bounded: bool = True
    ) -> Iterator[ReadPage]:
        """Pages since ``since``; ``bounded=False`` (no ``until`` given) keeps full-read
        records stamped after ``until_ms`` (they are read again by the next run)."""
        if not since or "full_after" in since:
            yield from self._full(since or {}, until_ms, bounded)
            return
        if self._reconcile_due(since, until_ms):
            since = yield from self._reconcile(since, until_ms)
        yield from self._incremental(since, until_ms)

    # -- full ------------------------------------------------------------------------------

    def _full(self, since: Bookmark, until_ms: int, bounded: bool) -> Iterator[ReadPage]:
        start = int(since.get("start", until_ms))
        self._reconciled = start
        limit = start if bounded else None
        for chunk, after in self._listing(since.get("full_after") or None, limit):
            self.lookback.note(chunk, self._stamp)
            if after is None:
                yield ReadPage(self._native(chunk), self._bookmark(Cursor(start, None), start))
                return
            yield ReadPage(self._native(chunk), {"full_after": after, "start": start})

    def _listing(
        self, after: str | None, limit: int | None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Every live record through the list API, in chunks of ~1,000, each with the list
        cursor after it (None after the last); records stamped after ``limit`` left out.

        List pages are fetched up to a chunk ahead while the caller works on earlier ones
        (:mod:`~connectors.hubspot.readahead`: the server's time and ours overlap). One list
        page is in flight at most, so the list calls are the same as one page after the
        other; a chunk's association reads may overlap them."""
        chunk: list[dict[str, Any]] = []
        pages = read_ahead(self._listed, after, _AHEAD, name="hs-list")
        with contextlib.closing(pages):
            for results, after_page in pages:
                chunk += [r for r in results if limit is None or self._stamp(r) <= limit]
                if after_page is None:
                    yield chunk, None
                    return
                if len(chunk) >= _CHUNK:
                    yield chunk, after_page
                    chunk = []

    def _listed(self, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One list page with every mapped property, and the list cursor after it."""
        data = self._list_page(after, archived=False)
        results = self._with_properties(data.get("results", []), archived=False)
        return results, ((data.get("paging") or {}).get("next") or {}).get("after")

    # -- association reconciliation --------------------------------------------------------

    def _reconcile_due(self, since: Bookmark, until_ms: int) -> bool:
        period_ms = int(self._settings.association_reconcile_hours * 3_600_000)
        if not self._links or period_ms <= 0:
            return False
        last = int(since.get("reconciled_at") or since["ts"])
        return "reconcile_after" in since or until_ms - last >= period_ms

    def _reconcile(self, since: Bookmark, until_ms: int) -> Generator[ReadPage, None, Bookmark]:
        """Every record with its links (a change of links alone moves no modified date);
        pages keep the incremental position, so the incremental read follows unchanged."""
        base = {k: v for k, v in since.items() if k != "reconcile_after"}
        for chunk, after in self._listing(since.get("reconcile_after"), until_ms):
            if after is None:
                done: Bookmark = {**base, "reconciled_at": until_ms}
                yield ReadPage(self._native(chunk), done)
                return done
            yield ReadPage(self._native(chunk), {**base, "reconcile_after": after})
        raise AssertionError("unreachable: a listing ends with a last chunk")

    def _list_page(self, after: str | None, *, archived: bool) -> dict[str, Any]:
        properties = [self._modified] if self.batch_properties else self._properties
        kwargs: dict[str, Any] = {
            "limit": self._settings.list_page_size,
            "properties": properties,
            "archived": archived,
        }
        if after is not None:
            kwargs["after"] = after
        response = self._transport.call(
            "objects_basic", "get_page", self._type, what=f"{self._type} list", **kwargs
        )
        return response.data or {}

    def _with_properties(
        self, listed: list[dict[str, Any]], *, archived: bool
    ) -> list[dict[str, Any]]:
        """``listed`` with every mapped property: as listed, or through one batch read."""
        if not self.batch_properties or not listed:
            return listed
        body = {
            "inputs": [{"id": str(r["id"])} for r in listed],
            "properties": self._properties,
            "propertiesWithHistory": [],
        }
        response = self._transport.call(
            "objects_batch",
            "read",
            self._type,
            body,
            archived=archived,
            what=f"{self._type} batch read",
        )
        by_id = {str(r["id"]): r for r in (response.data or {}).get("results", [])}
        out = []
        for record in listed:  # list order; a record gone since the list page is skipped
            full = by_id.get(str(record["id"]))
            if full is not None:
                out.append({**record, **full} if archived else full)
        return out

    # -- incremental -----------------------------------------------------------------------

    def _incremental(self, since: Bookmark, until_ms: int) -> Iterator[ReadPage]:
        start = Cursor(int(since["ts"]), None if since.get("id") is None else int(since["id"]))
        self.lookback = Lookback.load(since, self.lookback.window_ms)
        self._reconciled = int(since.get("reconciled_at", start.ts))
        archived_from = int(since.get("archived_ts", start.ts))
        walker = SearchWalker(
            self._transport,
            self._type,
            self._properties,
            page_size=self._settings.search_page_size,
            cap=self._settings.search_cap,
        )
        chunk: list[dict[str, Any]] = []
        cursor = start
        for records, walked in walker.walk(self.lookback.start(start), until_ms):
            cursor = later(cursor, walked)  # pages inside the lookback keep the old position
            chunk += self.lookback.fresh(records, self._stamp)
            if len(chunk) >= _CHUNK:
                yield ReadPage(self._native(chunk), self._bookmark(cursor, archived_from))
                chunk = []
        tombstones = self._archived_since(archived_from, until_ms)
        final = self._bookmark(cursor, max(archived_from, until_ms))
        yield ReadPage([*self._native(chunk), *tombstones], final)

    def _bookmark(self, cursor: Cursor, archived_ts: int) -> Bookmark:
        mark: Bookmark = {
            "ts": cursor.ts,
            "id": cursor.id,
            "archived_ts": archived_ts,
            "reconciled_at": self._reconciled,
        }
        if self.lookback.window_ms > 0:
            mark["recent"] = self.lookback.recent(cursor.ts)
        return mark

    def _archived_since(self, from_ms: int, until_ms: int) -> list[NativeRecord]:
        out: list[NativeRecord] = []
        after = None
        while True:
            data = self._list_page(after, archived=True)
            for record in self._with_properties(data.get("results", []), archived=True):
                when = parse_ms(record.get("archivedAt")) or self._stamp(record)
                if from_ms <= when <= until_ms:
                    out.append(
                        NativeRecord(
                            id=str(record["id"]),
                            fields=dict(record.get("properties") or {}),
                            deleted=True,
                            modified_at=_utc(when),
                        )
                    )
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if after is None:
                return out

    # -- shaping ---------------------------------------------------------------------------

    def _native(self, records: list[dict[str, Any]]) -> list[NativeRecord]:
        links: dict[str, dict[str, Any]] = {}
        if self._links and records:
            ids = [str(r["id"]) for r in records]
            links = self._associations.read_fields(self._type, self._links, ids)
        out = []
        for record in records:
            rid = str(record["id"])
            fields = dict(record.get("properties") or {})
            if self._pipelines is not None:
                self._stage_labels(fields)
            if links:
                fields.update(links.get(rid, {}))
            out.append(NativeRecord(id=rid, fields=fields, modified_at=_utc(self._stamp(record))))
        return out

    def _stage_labels(self, fields: dict[str, Any]) -> None:
        assert self._pipelines is not None
        pipeline, stage = self._pipelines.labels(fields.get("pipeline"), fields.get("dealstage"))
        if "pipeline" in fields:
            fields["pipeline"] = pipeline
        if "dealstage" in fields:
            fields["dealstage"] = stage

    def _stamp(self, record: dict[str, Any]) -> int:
        # Parsed once per record and kept on the raw record (read several times: the full
        # read's limit, the lookback, the native record); never part of its fields.
        ms: int | None = record.get(_STAMP_MS)
        if ms is None:
            props = record.get("properties") or {}
            ms = parse_ms(props.get(self._modified)) or parse_ms(record.get("updatedAt")) or 0
            record[_STAMP_MS] = ms
        return ms


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)  # positional: half the cost of tz=
