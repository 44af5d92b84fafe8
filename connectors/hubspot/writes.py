"""Writes: batch upsert by a unique property, 100 per call, never losing the good records.

- One ``batch/upsert`` call per 100 records, matched on the mapping's unique property
  (``idProperty``); each input carries an ``objectWriteTraceId`` (its position) so that 207
  multi-status errors map back to their input.
- A whole batch refused for one bad input (400/409): the bad inputs are found from the
  error's context (trace ids, ids, key values) or, failing that, by splitting the batch in
  halves; the others are retried without them (``2*log2(100)`` extra calls at worst).
- 409 ``CONFLICT ... Existing ID: 123`` (another unique property, e.g. a contact's email, is
  held by a record without our key): that record is adopted with a batch update by id,
  setting our key, so no duplicate is created and nothing is lost.
- ``archive`` resolves keys to ids (batch read by ``idProperty``) and batch-archives them;
  unknown keys are already gone, which is success.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.base import WriteResult
from connectors.hubspot.errors import ErrorBody, error_for, parse_error_body
from connectors.hubspot.transport import Transport
from mapping.errors import RecordError, RecordRejected

__all__ = ["BatchWriter", "Input"]

_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")


@dataclass(frozen=True, slots=True)
class Input:
    index: int
    key: str
    properties: dict[str, Any]


class BatchWriter:
    """Upserts and archives of one object type."""

    def __init__(
        self,
        transport: Transport,
        object_type: str,
        *,
        batch_size: int = 100,
        trace_ids: bool = True,
    ) -> None:
        """``trace_ids=False`` sends no ``objectWriteTraceId``: HubSpot then refuses a whole
        batch for one bad input, and :meth:`_isolate` finds it (kept for API versions and
        endpoints that ignore trace ids)."""
        self._transport = transport
        self._type = object_type
        self._batch = batch_size
        self._trace_ids = trace_ids

    def upsert(self, inputs: Sequence[Input], key: str) -> dict[int, WriteResult]:
        """Write ``inputs`` (unique keys) matched on ``key``; a result per input index."""
        results: dict[int, WriteResult] = {}
        for start in range(0, len(inputs), self._batch):
            results.update(self._write(list(inputs[start : start + self._batch]), key))
        return results

    def _write(self, inputs: list[Input], key: str) -> dict[int, WriteResult]:
        body = {"inputs": [self._input(i, key) for i in inputs]}
        try:
            response = self._transport.call(
                "objects_batch", "upsert", self._type, body, what=f"{self._type} batch upsert"
            )
        except RecordRejected as err:
            return self._isolate(inputs, key, err)
        return self._results(inputs, response.data or {}, key)

    def _input(self, item: Input, key: str) -> dict[str, Any]:
        body: dict[str, Any] = {"id": item.key, "idProperty": key, "properties": item.properties}
        if self._trace_ids:
            body["objectWriteTraceId"] = str(item.index)
        return body

    def _isolate(
        self, inputs: list[Input], key: str, err: RecordRejected
    ) -> dict[int, WriteResult]:
        """The batch was refused as a whole: find the bad inputs, write the rest."""
        body: ErrorBody | None = getattr(err, "hubspot", None)
        if len(inputs) == 1:
            only = inputs[0]
            existing = _EXISTING_ID.search(body.message) if body else None
            if existing and body is not None and body.status == 409:
                return self._adopt(only, key, existing.group(1))
            return {only.index: _failed(only, err)}
        bad = _named_inputs(inputs, body)
        if bad and len(bad) < len(inputs):
            results = {i.index: _failed(i, err) for i in inputs if i.index in bad}
            results.update(self._write([i for i in inputs if i.index not in bad], key))
            return results
        middle = len(inputs) // 2
        return {**self._write(inputs[:middle], key), **self._write(inputs[middle:], key)}

    def _adopt(self, item: Input, key: str, existing_id: str) -> dict[int, WriteResult]:
        return self._adopt_many([(item, existing_id)], key)

    def _adopt_many(self, pairs: list[tuple[Input, str]], key: str) -> dict[int, WriteResult]:
        """Update records that hold another unique value (409 ``Existing ID``) by their id,
        setting our key on them: the record is adopted, not duplicated. A record that
        already carries another key belongs to another canonical record: never taken over."""
        owners = self._keys_of([existing for _, existing in pairs], key)
        taken = RecordRejected(
            f"HubSpot {self._type}: a unique value of this record (e.g. an email) is held by "
            "another synced record; fix the duplicate at the source",
            code="DUPLICATE_VALUE",
        )
        results: dict[int, WriteResult] = {}
        claimed: set[str] = set()  # two inputs of one batch never adopt the same record
        owner_first = sorted(pairs, key=lambda pair: owners.get(pair[1]) != pair[0].key)
        for item, existing in owner_first:
            if owners.get(existing) not in (None, "", item.key) or existing in claimed:
                results[item.index] = _failed(item, taken)
            claimed.add(existing)
        pairs = [(item, existing) for item, existing in pairs if item.index not in results]
        if pairs:
            results.update(self._update_by_id(pairs, key))
        return results

    def _keys_of(self, ids: list[str], key: str) -> dict[str, str | None]:
        body = {"inputs": [{"id": i} for i in dict.fromkeys(ids)], "properties": [key]}
        response = self._transport.call(
            "objects_batch", "read", self._type, body, what=f"{self._type} batch read"
        )
        return {
            str(r["id"]): (r.get("properties") or {}).get(key)
            for r in (response.data or {}).get("results") or []
        }

    def _update_by_id(self, pairs: list[tuple[Input, str]], key: str) -> dict[int, WriteResult]:
        body = {
            "inputs": [
                {"id": existing, "properties": {**item.properties, key: item.key}}
                for item, existing in pairs
            ]
        }
        try:
            response = self._transport.call(
                "objects_batch", "update", self._type, body, what=f"{self._type} batch update"
            )
        except RecordRejected as err:
            return {item.index: _failed(item, err) for item, _ in pairs}
        updated = {str(r.get("id")) for r in (response.data or {}).get("results") or []}
        refused = RecordRejected(
            f"HubSpot {self._type}: another record holds a unique value of this one and "
            "could not be updated; merge them in HubSpot",
            code="CONFLICT",
        )
        return {
            item.index: WriteResult(key=item.key, id=existing, created=False)
            if existing in updated
            else _failed(item, refused)
            for item, existing in pairs
        }

    def _results(
        self, inputs: list[Input], data: Mapping[str, Any], key: str
    ) -> dict[int, WriteResult]:
        by_trace = {str(i.index): i for i in inputs}
        by_key = {i.key: i for i in inputs}
        out: dict[int, WriteResult] = {}
        for position, result in enumerate(data.get("results") or []):
            item = by_trace.get(str(result.get("objectWriteTraceId")))
            item = item or _by_properties(result, by_key)
            if item is None and len(data.get("results") or []) == len(inputs):
                item = inputs[position]
            if item is not None:
                out[item.index] = WriteResult(
                    key=item.key, id=str(result["id"]), created=result.get("new")
                )
        by_index = {i.index: i for i in inputs}
        adopt: list[tuple[Input, str]] = []
        for raw in data.get("errors") or []:
            body = _error_body(raw)
            existing = _EXISTING_ID.search(body.message)
            for index in _named_inputs(inputs, body):
                if existing and body.category == "CONFLICT" and index not in out:
                    adopt.append((by_index[index], existing.group(1)))
                else:
                    out.setdefault(index, _failed(by_index[index], _rejected(body)))
        if adopt:
            out.update(self._adopt_many(adopt, key))
        for item in inputs:
            if item.index not in out:
                out[item.index] = _failed(
                    item,
                    RecordRejected(
                        f"HubSpot {self._type} batch upsert returned no result for this record; "
                        "it will be retried next run",
                        code="NO_RESULT",
                    ),
                )
        return out

    def archive(self, keys: Sequence[str], key: str, ids: Mapping[str, str]) -> list[WriteResult]:
        """Archive the records with HubSpot ``ids`` (by key); unknown keys succeed."""
        known = [k for k in dict.fromkeys(keys) if k in ids]
        for start in range(0, len(known), self._batch):
            body = {"inputs": [{"id": ids[k]} for k in known[start : start + self._batch]]}
            self._transport.call(
                "objects_batch", "archive", self._type, body, what=f"{self._type} batch archive"
            )
        return [WriteResult(key=k, id=ids.get(k), created=False) for k in keys]


def _by_properties(result: Mapping[str, Any], by_key: Mapping[str, Input]) -> Input | None:
    for value in (result.get("properties") or {}).values():
        if isinstance(value, str) and value in by_key:
            return by_key[value]
    return None


def _named_inputs(inputs: Sequence[Input], body: ErrorBody | None) -> set[int]:
    """Indexes of the inputs an error names (trace ids, key values, input positions)."""
    if body is None:
        return set()
    named: set[int] = set()
    values = {v for vs in body.context.values() for v in vs}
    for detail in body.errors:
        for vs in (detail.get("context") or {}).values():
            values |= {str(v) for v in (vs if isinstance(vs, list) else [vs])}
    for item in inputs:
        if str(item.index) in body.context.get("objectWriteTraceId", ()) or item.key in values:
            named.add(item.index)
    for match in re.finditer(r"inputs\[(\d+)\]", body.message):
        position = int(match.group(1))
        if position < len(inputs):
            named.add(inputs[position].index)
    return named


def _error_body(raw: Mapping[str, Any]) -> ErrorBody:
    return parse_error_body(400, dict(raw))


def _rejected(body: ErrorBody) -> RecordRejected:
    error = error_for(body, what="batch upsert")
    if isinstance(error, RecordRejected):
        return error
    return RecordRejected(str(error), code=body.category or "REJECTED")


def _failed(item: Input, err: RecordError) -> WriteResult:
    error = RecordRejected(err.message, key=item.key, field=err.field, code=err.code)
    return WriteResult(key=item.key, error=error)
