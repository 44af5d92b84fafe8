"""Batch object calls: create, read, update, upsert, archive (at most 100 inputs each).

Statuses as the specs give them: create 201 (207 with errors), read/update/upsert 200 (207
with errors), archive 204. A batch create with a bad input fails as a whole (400/409)
unless every input carries a distinct ``objectWriteTraceId``; then the good inputs are
written and the bad ones come back in ``errors[]`` (HubSpot's error-handling guide).
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.hubspot._app import Call, Route, SandboxState
from connectors.sandbox.hubspot._clock import iso_ms
from connectors.sandbox.hubspot._errors import batch_error, validation_error
from connectors.sandbox.hubspot._objects import (
    WriteRejected,
    find_record,
    missing_ids_error,
    prepare_write,
    record_json,
    resolve_table,
)
from connectors.sandbox.hubspot._store import Table

__all__ = ["BATCH_MAX", "ROUTES"]

BATCH_MAX = 100
_BASE = "/crm/v3/objects/<objectType>/batch"


def _inputs(call: Call) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    body = call.json()
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        raise validation_error("Invalid input JSON: 'inputs' must be a list")
    if len(inputs) > BATCH_MAX:
        raise validation_error(
            f"Batch input of size {len(inputs)} exceeds the maximum of {BATCH_MAX} inputs"
        )
    return body, inputs


def _answer(
    state: SandboxState, ok_status: int, results: list[Any], errors: list[Any], started: int
) -> tuple[int, Any]:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso_ms(started),
        "completedAt": iso_ms(state.clock.now_ms()),
    }
    if not errors:
        return ok_status, body
    body["numErrors"] = len(errors)
    body["errors"] = errors
    return 207, body


def _rejected_entry(rejected: WriteRejected, context: dict[str, list[str]]) -> dict[str, Any]:
    return batch_error(
        rejected.category, str(rejected.error.body["message"]), context, rejected.sub_category
    )


def _traced(inputs: list[dict[str, Any]]) -> bool:
    """True when every input has its own objectWriteTraceId (partial success allowed)."""
    traces = [i.get("objectWriteTraceId") for i in inputs]
    return all(traces) and len(set(traces)) == len(traces)


def _create(call: Call, objectType: str) -> tuple[int, Any]:
    state = call.state
    name, table = resolve_table(state, objectType)
    _, inputs = _inputs(call)
    call.require_write_scopes(name, inputs)
    started = state.clock.now_ms()
    partial = _traced(inputs)
    with state.store.lock:
        planned, errors = _plan_creates(state, name, table, inputs, partial)
        now = state.clock.now_ms()
        results = []
        for item, changes in planned:
            rec = table.insert(state.store.next_id(), changes, now)
            links = item.get("associations") or []
            state.extras["associations"].attach_inline(name, rec.id, links)
            out = record_json(state, name, rec, full=True)
            if item.get("objectWriteTraceId"):
                out["objectWriteTraceId"] = item["objectWriteTraceId"]
            results.append(out)
    call.records_written = len(results)
    return _answer(state, 201, results, errors, started)


def _plan_creates(
    state: SandboxState, name: str, table: Table, inputs: list[dict[str, Any]], partial: bool
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[dict[str, Any]]]:
    claimed: dict[tuple[str, str], int] = {}
    planned, errors = [], []
    for item in inputs:
        try:
            changes = prepare_write(state, name, table, item.get("properties"), None, claimed)
        except WriteRejected as rejected:
            if not partial:
                raise rejected.error from None
            trace = {"objectWriteTraceId": [item["objectWriteTraceId"]]}
            errors.append(_rejected_entry(rejected, trace))
            continue
        for prop in table.unique_props:
            if changes.get(prop) is not None:
                claimed[(prop, table.index_key(prop, str(changes[prop])))] = -1
        planned.append((item, changes))
    return planned, errors


def _read(call: Call, objectType: str) -> tuple[int, Any]:
    state = call.state
    name, table = resolve_table(state, objectType)
    body, inputs = _inputs(call)
    started = state.clock.now_ms()
    id_property = body.get("idProperty")
    wanted = body.get("properties") or []
    call.require_scopes(name, wanted, "read")
    archived = call.flag("archived")
    results, missing = [], []
    with state.store.lock:
        for item in inputs:
            key = str(item.get("id", ""))
            if archived:
                rec = table.records.get(int(key)) if key.isdigit() else None
                rec = rec if rec is not None and rec.archived else None
            else:
                rec = find_record(table, state, name, key, id_property)
            if rec is None:
                missing.append(key)
            else:
                results.append(record_json(state, name, rec, wanted))
    errors = [missing_ids_error(state, name, missing)] if missing else []
    return _answer(state, 200, results, errors, started)


def _update(call: Call, objectType: str) -> tuple[int, Any]:
    state = call.state
    name, table = resolve_table(state, objectType)
    _, inputs = _inputs(call)
    call.require_write_scopes(name, inputs)
    started = state.clock.now_ms()
    partial = _traced(inputs)
    results, errors, missing = [], [], []
    with state.store.lock:
        planned = []
        for item in inputs:
            key = str(item.get("id", ""))
            rec = find_record(table, state, name, key, item.get("idProperty"))
            if rec is None:
                missing.append(key)
                continue
            try:
                changes = prepare_write(state, name, table, item.get("properties"), rec)
            except WriteRejected as rejected:
                if not partial and rejected.category == "VALIDATION_ERROR":
                    raise rejected.error from None
                errors.append(_rejected_entry(rejected, {"ids": [key]}))
                continue
            planned.append((item, rec, changes))
        now = state.clock.now_ms()
        for item, rec, changes in planned:
            table.apply(rec, changes, now)
            out = record_json(state, name, rec, full=True)
            if item.get("objectWriteTraceId"):
                out["objectWriteTraceId"] = item["objectWriteTraceId"]
            results.append(out)
    if missing:
        errors.insert(0, missing_ids_error(state, name, missing))
    call.records_written = len(results)
    return _answer(state, 200, results, errors, started)


def _upsert(call: Call, objectType: str) -> tuple[int, Any]:
    state = call.state
    name, table = resolve_table(state, objectType)
    _, inputs = _inputs(call)
    call.require_write_scopes(name, inputs)
    started = state.clock.now_ms()
    keys = [(i.get("idProperty") or "hs_object_id", str(i.get("id", ""))) for i in inputs]
    duplicates = sorted({k for _, k in keys if sum(1 for _, j in keys if j == k) > 1})
    if duplicates:
        raise validation_error(
            f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique"
        )
    results, errors = [], []
    with state.store.lock:
        for item, (id_property, key) in zip(inputs, keys, strict=True):
            try:
                results.append(_upsert_one(state, name, table, item, id_property, key))
            except WriteRejected as rejected:
                if rejected.category == "VALIDATION_ERROR" and not _traced(inputs):
                    raise rejected.error from None
                errors.append(_rejected_entry(rejected, {"ids": [key]}))
    call.records_written = len(results)
    return _answer(state, 200, results, errors, started)


def _upsert_one(
    state: SandboxState,
    name: str,
    table: Table,
    item: dict[str, Any],
    id_property: str,
    key: str,
) -> dict[str, Any]:
    rec = find_record(table, state, name, key, id_property)
    values = dict(item.get("properties") or {})
    if rec is None:
        if id_property == "hs_object_id":
            missing = validation_error(f"No {name} with id {key} to update")
            raise WriteRejected(missing, "OBJECT_NOT_FOUND")
        values[id_property] = key
        changes = prepare_write(state, name, table, values, None)
        rec = table.insert(state.store.next_id(), changes, state.clock.now_ms())
        created = True
    else:
        changes = prepare_write(state, name, table, values, rec)
        table.apply(rec, changes, state.clock.now_ms())
        created = False
    out = record_json(state, name, rec, full=True)
    out["new"] = created
    if item.get("objectWriteTraceId"):
        out["objectWriteTraceId"] = item["objectWriteTraceId"]
    return out


def _archive(call: Call, objectType: str) -> tuple[int, Any]:
    state = call.state
    _, table = resolve_table(state, objectType)
    _, inputs = _inputs(call)
    with state.store.lock:
        now = state.clock.now_ms()
        for item in inputs:
            rec = table.find("hs_object_id", str(item.get("id", "")))
            if rec is not None:
                table.archive(rec, now)
                call.records_written += 1
    return 204, None


ROUTES = [
    Route("POST", f"{_BASE}/create", _create, "write"),
    Route("POST", f"{_BASE}/read", _read),
    Route("POST", f"{_BASE}/update", _update, "write"),
    Route("POST", f"{_BASE}/upsert", _upsert, "write"),
    Route("POST", f"{_BASE}/archive", _archive, "write"),
]
