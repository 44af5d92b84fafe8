"""CRM search (``POST /crm/v3/objects/{type}/search``) as HubSpot runs it.

Filter groups are OR-ed, filters in a group AND-ed; only the first sort is honoured; pages
hold at most 200 results; ``after`` is an offset, and no query can page to offset 10,000 or
beyond (400), although ``total`` counts every match and the page before the cap still
offers a ``paging.next`` cursor (the trap incremental syncs fall into). Search is exempt
from the ten-second burst window and its answers carry no rate-limit headers.

Results of a query are cached per table version, so paging through a large result set
costs one scan, not one per page.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from collections import OrderedDict
from typing import Any

from connectors.sandbox.hubspot._app import Call, Route, SandboxState
from connectors.sandbox.hubspot._errors import validation_error
from connectors.sandbox.hubspot._objects import record_json, resolve_table
from connectors.sandbox.hubspot._store import Record, Table
from connectors.sandbox.hubspot._values import comparable

__all__ = ["ROUTES", "SEARCH_PAGE_MAX"]

SEARCH_PAGE_MAX = 200
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_VALUE_OPS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
_ALL_OPS = _VALUE_OPS | {"BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"}
_cache_lock = threading.Lock()
_cache: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()


def _check_shape(state: SandboxState, name: str, groups: list[dict[str, Any]]) -> None:
    if len(groups) > state.max_filter_groups:
        raise validation_error(
            f"Too many filter groups: {len(groups)}; the maximum is {state.max_filter_groups}"
        )
    total = 0
    definitions = state.schema.properties(name)
    for group in groups:
        filters = group.get("filters") or []
        total += len(filters)
        if len(filters) > state.max_filters_per_group:
            raise validation_error(
                f"Too many filters in a group: {len(filters)}; "
                f"the maximum is {state.max_filters_per_group}"
            )
        for f in filters:
            if f.get("operator") not in _ALL_OPS:
                raise validation_error(f"Unknown filter operator {f.get('operator')!r}")
            if f.get("propertyName") not in definitions:
                raise validation_error(
                    f"Property {f.get('propertyName')!r} does not exist on {name}"
                )
    if total > state.max_filters_total:
        raise validation_error(
            f"Too many filters: {total}; the maximum is {state.max_filters_total}"
        )


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _contains_token(text: str, wanted: str) -> bool:
    pattern = wanted.lower().strip()
    if "*" in pattern:
        return any(fnmatch.fnmatchcase(t, pattern) for t in _tokens(text)) or fnmatch.fnmatchcase(
            text.lower(), pattern
        )
    return pattern in _tokens(text) or text.lower() == pattern


def _matches(definition: dict[str, Any] | None, raw: str | None, f: dict[str, Any]) -> bool:
    op = f["operator"]
    if op == "HAS_PROPERTY":
        return raw is not None
    if op == "NOT_HAS_PROPERTY":
        return raw is None
    if op in ("IN", "NOT_IN"):
        values = {comparable(definition, str(v)) for v in f.get("values") or []}
        inside = raw is not None and comparable(definition, raw) in values
        return inside if op == "IN" else not inside
    if op == "NEQ":
        return raw is None or comparable(definition, raw) != comparable(definition, str(f["value"]))
    if raw is None:
        return False
    if op == "CONTAINS_TOKEN":
        return _contains_token(raw, str(f.get("value", "")))
    if op == "NOT_CONTAINS_TOKEN":
        return not _contains_token(raw, str(f.get("value", "")))
    have = comparable(definition, raw)
    low = comparable(definition, str(f.get("value")))
    if have is None or low is None:
        return False
    if op == "BETWEEN":
        high = comparable(definition, str(f.get("highValue")))
        return high is not None and low <= have <= high
    return bool(
        {
            "EQ": have == low,
            "LT": have < low,
            "LTE": have <= low,
            "GT": have > low,
            "GTE": have >= low,
        }[op]
    )


def _indexed_candidates(table: Table, groups: list[dict[str, Any]]) -> list[Record] | None:
    """Records a query can only match, found through the unique indexes; None: scan all.

    Usable when every group has an EQ or IN filter on ``hs_object_id`` or a unique-value
    property (a look-up by key, the common case for connectors resolving references).
    """
    if not groups:
        return None
    found: set[int] = set()
    for group in groups:
        keyed = None
        for f in group.get("filters") or []:
            prop, op = f.get("propertyName"), f.get("operator")
            if op in ("EQ", "IN") and (prop == "hs_object_id" or prop in table.unique_props):
                values = [f.get("value")] if op == "EQ" else list(f.get("values") or [])
                keyed = [table.find(prop, str(v)) for v in values]
                break
        if keyed is None:
            return None
        found.update(rec.id for rec in keyed if rec is not None)
    return [table.records[i] for i in sorted(found)]


def _selected(state: SandboxState, name: str, table: Table, body: dict[str, Any]) -> list[int]:
    groups = body.get("filterGroups") or []
    definitions = state.schema.properties(name)
    query = str(body.get("query") or "").strip().lower()

    def keep(rec: Record) -> bool:
        if query and not any(query in v.lower() for v in rec.props.values()):
            return False
        if not groups:
            return True
        return any(
            all(
                _matches(definitions.get(f["propertyName"]), rec.props.get(f["propertyName"]), f)
                for f in g.get("filters") or []
            )
            for g in groups
        )

    candidates = _indexed_candidates(table, groups)
    pool = table.live() if candidates is None else iter(candidates)
    matched = [r for r in pool if keep(r)]
    return [r.id for r in _sorted(matched, body.get("sorts") or [], definitions)]


def _sorted(
    matched: list[Record], sorts: list[Any], definitions: dict[str, dict[str, Any]]
) -> list[Record]:
    """Order by the first sort only (as HubSpot does); records without the value go last."""
    if not sorts:
        return matched
    first = sorts[0]
    if isinstance(first, str):  # the client sends bare names (descending with "-")
        prop, descending = first.lstrip("-"), first.startswith("-")
    else:
        prop = first.get("propertyName", "hs_object_id")
        descending = first.get("direction", "ASCENDING") == "DESCENDING"
    definition = definitions.get(prop)

    def key(rec: Record) -> tuple[bool, Any, int]:
        value = comparable(definition, rec.props[prop])
        return (value is None, value if value is not None else 0, rec.id)

    present = sorted((r for r in matched if r.props.get(prop) is not None), key=key)
    if descending:
        present.reverse()
    return present + [r for r in matched if r.props.get(prop) is None]


def _cached_ids(state: SandboxState, name: str, table: Table, body: dict[str, Any]) -> list[int]:

    shape = json.dumps({k: body.get(k) for k in ("filterGroups", "sorts", "query")}, sort_keys=True)
    key = (table.serial, table.version, shape)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    ids = _selected(state, name, table, body)
    with _cache_lock:
        _cache[key] = ids
        while len(_cache) > 32:
            _cache.popitem(last=False)
    return ids


def _indexed(state: SandboxState, name: str, ids: list[int]) -> list[int]:
    """``ids`` without the records the search index has not caught up with yet."""
    if not state.index_delays:
        return ids
    now = state.clock.now_ms()
    delays = state.index_delays
    return [i for i in ids if delays.get((name, i), 0) <= now]


def _search(call: Call, objectType: str) -> tuple[int, Any]:
    state = call.state
    name, table = resolve_table(state, objectType)
    body = call.json() or {}
    limit = int(body.get("limit") or 10)
    if limit > SEARCH_PAGE_MAX:
        raise validation_error(f"limit must be at most {SEARCH_PAGE_MAX}; it was {limit}")
    after_text = str(body.get("after") or "0")
    if not after_text.isdigit():
        raise validation_error(f"after must be a numeric cursor; it was {after_text!r}")
    after = int(after_text)
    if after >= state.search_result_cap:
        raise validation_error(
            f"Search can return at most {state.search_result_cap} results per query; "
            f"after={after} is past that cap. Narrow the query (for example filter "
            "hs_object_id GT the last id seen, sorted ascending) and start again at after=0."
        )
    _check_shape(state, name, body.get("filterGroups") or [])
    filtered = [f.get("propertyName") for g in body.get("filterGroups") or [] if isinstance(g, dict)
                for f in g.get("filters") or [] if isinstance(f, dict)]  # fmt: skip
    call.require_scopes(name, [*(body.get("properties") or []), *filtered], "read")
    with state.store.lock:
        ids = _indexed(state, name, _cached_ids(state, name, table, body))
        end = min(after + limit, len(ids), state.search_result_cap)
        wanted = body.get("properties") or []
        results = [record_json(state, name, table.records[i], wanted) for i in ids[after:end]]
    out: dict[str, Any] = {"total": len(ids), "results": results}
    if end < len(ids):
        out["paging"] = {"next": {"after": str(end), "link": f"?after={end}"}}
    return 200, out


ROUTES = [Route("POST", "/crm/v3/objects/<objectType>/search", _search, "search")]
