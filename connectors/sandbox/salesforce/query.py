"""Running parsed SOQL against the store: field checks, filters, ordering, projection, paging.

Fields are checked against the schema first (``INVALID_FIELD`` with Salesforce's caret
message, ``INVALID_TYPE`` for an unknown sObject). Conditions compile into closures, so a scan
of 100k rows stays cheap. Results page at 2,000 rows (``Sforce-Query-Options: batchSize``
may ask for 200-2,000) through ``nextRecordsUrl`` locators ``<cursor>-<offset>``; a user
holds at most 10 open cursors, older ones answer ``INVALID_QUERY_LOCATOR``.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from connectors.sandbox.salesforce.errors import ApiError
from connectors.sandbox.salesforce.schema import FieldDef, ObjectDef
from connectors.sandbox.salesforce.soql import And, In, Like, Not, Or, Path, Query, parse
from connectors.sandbox.salesforce.store import Row, Store
from connectors.sandbox.salesforce.values import is_id, is_text, to_id18, to_json

__all__ = ["Cursors", "QueryResult", "field_value", "run_query"]

Getter = Callable[[Row], Any]
_TYPE_NAMES = {"datetime": "dateTime", "date": "date", "boolean": "boolean"}
PAGE_MAX = 2000
PAGE_MIN = 200
MAX_CURSORS = 10


@dataclass
class _Column:
    path: Path
    names: tuple[str, ...]  # canonical names: relationship names then the field name
    field: FieldDef
    lookups: tuple[FieldDef, ...]  # lookup fields followed to reach ``field``
    store: Store

    def get(self, row: Row | None) -> Any:
        for lookup in self.lookups:
            parent = _follow(self.store, row, lookup) if row is not None else None
            row = parent[1] if parent else None
        return field_value(self.store, row, self.field) if row is not None else None


@dataclass
class QueryResult:
    """Matching rows of one query, projected page by page."""

    obj: ObjectDef
    columns: list[_Column]
    rows: list[Row]
    count_only: bool
    version: str
    store: Store

    def page(self, start: int, size: int) -> list[dict[str, Any]]:
        return [self._project(row) for row in self.rows[start : start + size]]

    def _attributes(self, obj_name: str, row_id: str) -> dict[str, str]:
        url = f"/services/data/v{self.version}/sobjects/{obj_name}/{row_id}"
        return {"type": obj_name, "url": url}

    def _project(self, row: Row) -> dict[str, Any]:
        out: dict[str, Any] = OrderedDict(attributes=self._attributes(self.obj.name, row["Id"]))
        for col in self.columns:
            self._place(out, row, col)
        return out

    def _place(self, out: dict[str, Any], row: Row, col: _Column) -> None:
        target: dict[str, Any] = out
        current: Row = row
        for rel_name, lookup in zip(col.names[:-1], col.lookups, strict=True):
            parent = _follow(self.store, current, lookup)
            if parent is None:
                target.setdefault(rel_name, None)
                return
            nested = target.get(rel_name)
            if nested is None:
                nested = OrderedDict(attributes=self._attributes(parent[0].name, parent[1]["Id"]))
                target[rel_name] = nested
            target, current = nested, parent[1]
        target[col.names[-1]] = to_json(col.field, field_value(self.store, current, col.field))


def field_value(store: Store, row: Row, f: FieldDef) -> Any:
    """A stored value, or a formula field's value computed now (Salesforce computes formulas
    at read time: a change of the parent changes the value, never the row's SystemModstamp)."""
    if f.formula is None:
        return row.get(f.name)
    current: Row | None = row
    *relations, name = f.formula.split(".")
    for rel in relations:
        found = store.get_any(current["Id"]) if current is not None else None
        lookup = found[0].relationship(rel) if found else None
        parent = _follow(store, current, lookup) if current is not None and lookup else None
        current = parent[1] if parent else None
    return current.get(name) if current is not None else None


def _follow(store: Store, row: Row, lookup: FieldDef) -> tuple[ObjectDef, Row] | None:
    target_id = row.get(lookup.name)
    return store.get_any(target_id) if target_id else None


def _no_column(q: Query, path: Path, obj: ObjectDef) -> ApiError:
    line = q.text.replace("\n", " ")
    return ApiError(
        400,
        "INVALID_FIELD",
        f"\n{line}\n{' ' * path.pos}^\nERROR at Row:1:Column:{path.pos + 1}\nNo such column "
        f"'{path.parts[-1]}' on entity '{obj.name}'. If you are attempting to use a custom field, "
        "be sure to append the '__c' after the custom field name. Please reference your WSDL or "
        "the describe call for the appropriate names.",
    )


def _column(store: Store, q: Query, obj: ObjectDef, path: Path) -> _Column:
    names: list[str] = []
    lookups: list[FieldDef] = []
    current = obj
    for part in path.parts[:-1]:
        lookup = current.relationship(part)
        target = store.object(lookup.reference_to[0]) if lookup else None
        if lookup is None or target is None:
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"Didn't understand relationship '{part}' in field path. If you are attempting "
                "to use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name.",
            )
        names.append(str(lookup.relationship_name))
        lookups.append(lookup)
        current = target
    f = current.field(path.parts[-1])
    if f is None:
        raise _no_column(q, path, current)
    names.append(f.name)
    return _Column(path, tuple(names), f, tuple(lookups), store)


# -- conditions -------------------------------------------------------------------------------


def _literal(q: Query, col: _Column, value: Any) -> Any:
    """``value`` normalised for comparison with ``col`` (or the error Salesforce gives)."""
    f = col.field
    expected: type | tuple[type, ...] = str
    if f.type == "datetime":
        expected = datetime
    elif f.type == "date":
        expected = date
    elif f.is_numeric:
        expected = (int, float)
    elif f.type == "boolean":
        expected = bool
    if value is None:
        return None
    if not isinstance(value, expected) or (expected == date and isinstance(value, datetime)):
        kind = _TYPE_NAMES.get(f.type, "double" if f.is_numeric else "string")
        raise ApiError(
            400,
            "INVALID_FIELD",
            f"\n{q.text}\nvalue of filter criterion for field '{col.path.text}' must be of type "
            f"{kind} and should not be enclosed in quotes",
        )
    return _norm(f, value)


def _norm(f: FieldDef, value: Any) -> Any:
    if value is None:
        return None
    if f.type in ("id", "reference"):
        return to_id18(value) if is_id(value) else value
    if is_text(f):
        return str(value).lower()
    return value


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _compile(store: Store, q: Query, obj: ObjectDef, node: Any) -> Callable[[Row], bool]:
    if isinstance(node, And | Or):
        parts = [_compile(store, q, obj, item) for item in node.items]
        combine = all if isinstance(node, And) else any
        return lambda row: combine(p(row) for p in parts)
    if isinstance(node, Not):
        inner = _compile(store, q, obj, node.item)
        return lambda row: not inner(row)
    col = _column(store, q, obj, node.path)
    f, get = col.field, col.get
    if isinstance(node, In):
        wanted = {_literal(q, col, v) for v in node.values}
        negate = node.negate
        return lambda row: (_norm(f, get(row)) in wanted) != negate
    if isinstance(node, Like):
        regex = _like_regex(node.pattern)
        return lambda row: get(row) is not None and regex.fullmatch(str(get(row))) is not None
    return _compare(col, node.op, _literal(q, col, node.value))


def _compare(col: _Column, op: str, literal: Any) -> Callable[[Row], bool]:
    f, get = col.field, col.get
    if op == "=":
        return lambda row: _norm(f, get(row)) == literal
    if op == "!=":
        return lambda row: _norm(f, get(row)) != literal
    fn = _OPS[op]

    def check(row: Row) -> bool:
        value = _norm(f, get(row))
        return value is not None and literal is not None and fn(value, literal)

    return check


def _like_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


# -- running ----------------------------------------------------------------------------------


def _sort(store: Store, q: Query, obj: ObjectDef, rows: list[Row]) -> None:
    for item in reversed(q.order):
        col = _column(store, q, obj, item.path)
        nulls_first = item.nulls_first if item.nulls_first is not None else not item.descending

        null_rank = 0 if nulls_first != item.descending else 2

        def key(row: Row, col: _Column = col, null_rank: int = null_rank) -> tuple[int, Any]:
            value = _norm(col.field, col.get(row))
            return (null_rank, 0) if value is None else (1, value)

        rows.sort(key=key, reverse=item.descending)


def run_query(store: Store, text: str, *, include_deleted: bool, version: str) -> QueryResult:
    """Parse and run ``text``; the result holds every matching row in order."""
    q = parse(text)
    obj = store.object(q.sobject)
    if obj is None:
        raise ApiError(
            400,
            "INVALID_TYPE",
            f"\n{q.text}\n{' ' * q.sobject_pos}^\nERROR at Row:1:Column:{q.sobject_pos + 1}\n"
            f"sObject type '{q.sobject}' is not supported. If you are attempting to use a custom "
            "object, be sure to append the '__c' after the entity name. Please reference your "
            "WSDL or the describe call for the appropriate names.",
        )
    columns = [_column(store, q, obj, p) for p in q.fields]
    predicate = _compile(store, q, obj, q.where) if q.where is not None else None
    with store.lock:
        rows = [
            row
            for row in store.table(obj.name).rows.values()
            if (include_deleted or not row.get("IsDeleted"))
            and (predicate is None or predicate(row))
        ]
        _sort(store, q, obj, rows)
    start = q.offset or 0
    rows = rows[start : start + q.limit] if q.limit is not None else rows[start:]
    return QueryResult(obj, columns, rows, q.count, version, store)


class Cursors:
    """Open query locators, at most :data:`MAX_CURSORS` per user (oldest dropped first)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, OrderedDict[str, QueryResult]] = {}
        self._seq = itertools.count(1)

    def open(self, user: str, result: QueryResult) -> str:
        with self._lock:
            cursor = f"01g{'Dn0'}{next(self._seq):012d}"
            mine = self._open.setdefault(user, OrderedDict())
            mine[cursor] = result
            while len(mine) > MAX_CURSORS:
                mine.popitem(last=False)
            return cursor

    def get(self, user: str, cursor: str) -> QueryResult:
        with self._lock:
            mine = self._open.get(user)
            result = mine.get(cursor) if mine is not None else None
        if result is None:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return result

    def close(self, user: str, cursor: str) -> None:
        with self._lock:
            mine = self._open.get(user)
            if mine is not None:
                mine.pop(cursor, None)
