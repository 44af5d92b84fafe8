"""Synchronous writes through sObject Collections: upsert by external id, delete by id.

- Upsert: ``PATCH composite/sobjects/{Object}/{key}`` with up to 200 records and
  ``allOrNone=false``, one API call per 200 records. Each result is matched to its input by
  position. Lookups travel as nested external ids (``{"Partner__r": {"Refsync_Id__c": ...}}``)
  so parents and children can be written in any order.
- Records whose result is ``UNABLE_TO_LOCK_ROW`` are re-sent (only those) after a backoff, a
  few times, before being reported; every other per-record failure becomes a
  :class:`RecordError` with Salesforce's status code and first field while the rest proceed.
- Delete: the key values are resolved to ids with a ``format_soql`` ``IN`` query, then
  ``DELETE composite/sobjects?ids=...`` (200 per call). A key with no record is already gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from functools import partial
from typing import Any

from simple_salesforce.api import Salesforce
from simple_salesforce.format import format_soql

from connectors.base import WriteResult
from connectors.salesforce.calls import CallRunner
from connectors.salesforce.errors import LOCK_CODE, matched_ids, record_error

__all__ = [
    "SCALARS",
    "Lookup",
    "delete_by_keys",
    "field_names",
    "flat_items",
    "ids_by_key",
    "native_value",
    "nest_relations",
    "upsert_collections",
]

_GONE_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})


def native_value(value: Any) -> Any:
    """A JSON value Salesforce accepts for a native value refsync holds."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ";".join(str(v) for v in value)
    return value


Lookup = tuple[str, str | None]
"""A lookup relationship's field name and, for a polymorphic lookup, the target type."""


SCALARS = frozenset({str, int, float, bool, type(None)})
"""The exact types of values that are never a nested relation."""


def flat_items(record: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """``(name, value)`` pairs with nested lookups as dotted names, without copying.

    ``{"Partner__r": {"Refsync_Id__c": v}}`` yields ``("Partner__r.Refsync_Id__c", v)``.
    """
    for name, value in record.items():
        # Most values are scalars: an exact type test spares the Mapping ABC check.
        if type(value) not in SCALARS and isinstance(value, Mapping):
            for sub, inner in value.items():
                if sub != "attributes":
                    yield f"{name}.{sub}", inner
        else:
            yield name, value


def field_names(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every name :func:`flat_items` yields over ``records``, first seen first.

    A record of scalars only (most records) adds its keys in C, without a generator per
    field; one holding a nested relation is walked by :func:`flat_items`.
    """
    names: dict[str, None] = {}
    for record in records:
        if SCALARS.issuperset(map(type, record.values())):
            names.update(dict.fromkeys(record))
        else:
            names.update(dict.fromkeys(name for name, _ in flat_items(record)))
    return list(names)


def nest_relations(record: Mapping[str, Any], lookups: Mapping[str, Lookup]) -> dict[str, Any]:
    """A REST body for ``record`` (nested or dotted lookups): lookups nested by external id.

    ``lookups`` maps relationship names to (lookup field, polymorphic target type or None):
    ``Partner__r`` -> (``Partner__c``, None). A ``None`` value clears the lookup field (a
    nested external id cannot be null); a polymorphic reference carries its target type.
    """
    body: dict[str, Any] = {}
    for name, value in flat_items(record):
        if "." not in name:
            body[name] = native_value(value)
            continue
        rel, _, field = name.partition(".")
        lookup_field, target = lookups.get(rel, (rel, None))
        if value is None:
            body[lookup_field] = None
        else:
            nested: dict[str, Any] = {field: native_value(value)}
            if target:
                nested["attributes"] = {"type": target}
            body[rel] = nested
    return body


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class _Upsert:
    """One upsert of many records, with row-lock re-sends; see the module docstring."""

    def __init__(
        self,
        client: Salesforce,
        runner: CallRunner,
        object_name: str,
        key: str,
        lookups: Mapping[str, Lookup],
        batch_size: int,
    ) -> None:
        self.client, self.runner = client, runner
        self.object_name, self.key, self.lookups = object_name, key, lookups
        self.batch_size = batch_size
        self.path = f"composite/sobjects/{object_name}/{key}/"

    def run(self, records: Sequence[Mapping[str, Any]], lock_retries: int) -> list[WriteResult]:
        results: list[WriteResult | None] = [None] * len(records)
        pending = []
        for i, record in enumerate(records):
            if record.get(self.key) in (None, ""):
                results[i] = self._failed(
                    str(record.get(self.key) or ""), "MISSING_KEY", {"fields": [self.key]}
                )
            else:
                pending.append(i)
        for attempt in range(lock_retries + 1):
            locked = self._send(records, pending, results, final=attempt == lock_retries)
            if not locked:
                break
            self.runner.sleep(self.runner.backoff(attempt + 1))
            pending = locked
        return [r for r in results if r is not None]

    def _send(
        self,
        records: Sequence[Mapping[str, Any]],
        indexes: list[int],
        results: list[WriteResult | None],
        *,
        final: bool,
    ) -> list[int]:
        locked: list[int] = []
        for chunk in _chunks(indexes, self.batch_size):
            body = {
                "allOrNone": False,
                "records": [
                    {
                        "attributes": {"type": self.object_name},
                        **nest_relations(records[i], self.lookups),
                    }
                    for i in chunk
                ],
            }
            where = f"upserting {len(chunk)} {self.object_name} records by {self.key}"
            send = partial(self.client.restful, self.path, method="PATCH", json=body)
            answer = self.runner.run(where, send)
            for i, result in zip(chunk, answer or (), strict=True):
                key = str(records[i][self.key])
                if result.get("success"):
                    results[i] = WriteResult(key, result.get("id"), result.get("created"))
                    continue
                error = (result.get("errors") or [{}])[0]
                code = str(error.get("statusCode") or error.get("errorCode") or "UNKNOWN")
                if code == LOCK_CODE and not final:
                    locked.append(i)
                else:
                    results[i] = self._failed(key, code, error)
        return locked

    def _failed(self, key: str, code: str, error: Mapping[str, Any]) -> WriteResult:
        failure = record_error(
            self.object_name, self.key, key, code, error.get("fields"), matched=matched_ids(error)
        )
        return WriteResult(key, error=failure)


def upsert_collections(
    client: Salesforce,
    runner: CallRunner,
    object_name: str,
    records: Sequence[Mapping[str, Any]],
    *,
    key: str,
    lookups: Mapping[str, Lookup],
    batch_size: int = 200,
    lock_retries: int = 3,
) -> list[WriteResult]:
    """Upsert ``records`` by ``key``: ceil(N/200) calls, one WriteResult per input, in order."""
    return _Upsert(client, runner, object_name, key, lookups, batch_size).run(records, lock_retries)


def ids_by_key(
    client: Salesforce,
    runner: CallRunner,
    object_name: str,
    key: str,
    keys: Sequence[str],
    *,
    purpose: str = "to archive",
) -> dict[str, list[str]]:
    """The Salesforce Ids of the live records whose ``key`` is in ``keys`` (200 per query)."""
    found: dict[str, list[str]] = {}
    for chunk in _chunks(list(dict.fromkeys(keys)), 200):
        soql = format_soql(
            "SELECT Id, {:literal} FROM {:literal} WHERE {:literal} IN {}",
            key,
            object_name,
            key,
            list(chunk),
        )
        where = f"finding {object_name} records {purpose} by {key}"
        for row in runner.run(where, partial(client.query_all, soql))["records"]:
            found.setdefault(str(row[key]), []).append(row["Id"])
    return found


def delete_by_keys(
    client: Salesforce, runner: CallRunner, object_name: str, keys: Sequence[str], *, key: str
) -> list[WriteResult]:
    """Delete the records whose ``key`` is in ``keys``; one WriteResult per key, in order."""
    found = ids_by_key(client, runner, object_name, key, keys)
    outcome: dict[str, tuple[bool, str, list[str] | None]] = {}
    all_ids = [i for k in dict.fromkeys(keys) for i in found.get(k, ())]
    for chunk in _chunks(all_ids, 200):
        where = f"deleting {len(chunk)} {object_name} records"
        params = {"ids": ",".join(chunk), "allOrNone": "false"}
        send = partial(client.restful, "composite/sobjects/", params=params, method="DELETE")
        answer = runner.run(where, send)
        for record_id, result in zip(chunk, answer or (), strict=True):
            error = (result.get("errors") or [{}])[0]
            code = str(error.get("statusCode") or "")
            ok = bool(result.get("success")) or code in _GONE_CODES
            outcome[record_id] = (ok, code, error.get("fields"))
    return [_delete_result(object_name, key, k, found.get(k, []), outcome) for k in keys]


def _delete_result(
    object_name: str,
    key_field: str,
    key: str,
    ids: list[str],
    outcome: Mapping[str, tuple[bool, str, list[str] | None]],
) -> WriteResult:
    for record_id in ids:
        ok, code, fields = outcome[record_id]
        if not ok:
            return WriteResult(
                key, record_id, error=record_error(object_name, key_field, key, code, fields)
            )
    return WriteResult(key, ids[0] if ids else None, created=False)
