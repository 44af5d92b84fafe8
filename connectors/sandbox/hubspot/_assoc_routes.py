"""Associations v4 endpoints (``/crm/v4/objects/...`` and ``/crm/v4/associations/...``).

Statuses from associations-v4.json: default association PUT 200, labelled PUT 201, list 200,
DELETE 204; batch create 201/207, batch associate-default 200, batch read 200/207 (ids with
no associations come back in ``errors[]``), batch archive 204; labels GET/POST 200.
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.hubspot._app import Call, Route, SandboxState
from connectors.sandbox.hubspot._associations import AssociationBook, AssociationType
from connectors.sandbox.hubspot._clock import iso_ms
from connectors.sandbox.hubspot._errors import (
    HubSpotError,
    batch_error,
    error_body,
    validation_error,
)
from connectors.sandbox.hubspot._objects import resolve_table

__all__ = ["ROUTES"]

_OBJ = "/crm/v4/objects/<objectType>/<objectId>/associations"
_PAIR = "/crm/v4/associations/<fromObjectType>/<toObjectType>"
_BATCH_MAX = {"create": 2000, "default": 2000, "read": 1000, "archive": 2000}


def _book(state: SandboxState) -> AssociationBook:
    book: AssociationBook = state.extras["associations"]
    return book


def _spec_json(kind: AssociationType) -> dict[str, Any]:
    out: dict[str, Any] = {"category": kind[0], "typeId": kind[1]}
    if kind[2] is not None:  # the spec types label as a non-null string
        out["label"] = kind[2]
    return out


def _live_id(state: SandboxState, object_type: str, raw: Any) -> tuple[str, int]:
    """(type name, record id) of a live record, or a 404-style HubSpotError."""
    name, table = resolve_table(state, object_type)
    text = str(raw)
    with state.store.lock:
        rec = table.find("hs_object_id", text)
    if rec is None:
        raise HubSpotError(
            404,
            error_body(
                f"No {state.schema.singular(name)} with ID {text} exists",
                "OBJECT_NOT_FOUND",
                subCategory="crm.associations.OBJECT_NOT_FOUND",
                context={"objectType": [state.schema.singular(name)], "id": [text]},
            ),
        )
    return name, rec.id


def _batch_answer(
    state: SandboxState, ok: int, results: list[Any], errors: list[Any]
) -> tuple[int, Any]:
    now = iso_ms(state.clock.now_ms())
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": now,
        "completedAt": now,
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return 207, body
    return ok, body


def _inputs(call: Call, op: str) -> list[dict[str, Any]]:
    inputs = call.json().get("inputs")
    if not isinstance(inputs, list):
        raise validation_error("Invalid input JSON: 'inputs' must be a list")
    if len(inputs) > _BATCH_MAX[op]:
        raise validation_error(f"Batch input exceeds the maximum of {_BATCH_MAX[op]} inputs")
    return inputs


def _put_default(
    call: Call, fromObjectType: str, fromObjectId: str, toObjectType: str, toObjectId: str
) -> tuple[int, Any]:
    state = call.state
    a, a_id = _live_id(state, fromObjectType, fromObjectId)
    b, b_id = _live_id(state, toObjectType, toObjectId)
    kind = _book(state).default_type(a, b)
    _book(state).link(a, a_id, b, b_id, kind[0], kind[1])
    spec = {"associationCategory": kind[0], "associationTypeId": kind[1]}
    result = {"from": {"id": str(a_id)}, "to": {"id": str(b_id)}, "associationSpec": spec}
    return _batch_answer(state, 200, [result], [])


def _labels_between(state: SandboxState, a: str, a_id: int, b: str, b_id: int) -> dict[str, Any]:
    linked = dict(_book(state).linked(a, a_id, b))
    labels = [k[2] for k in linked.get(b_id, []) if k[2] is not None]
    return {
        "fromObjectTypeId": state.schema.type_id(a),
        "fromObjectId": str(a_id),
        "toObjectTypeId": state.schema.type_id(b),
        "toObjectId": str(b_id),
        "labels": labels,
    }


def _put_labelled(
    call: Call, objectType: str, objectId: str, toObjectType: str, toObjectId: str
) -> tuple[int, Any]:
    state = call.state
    a, a_id = _live_id(state, objectType, objectId)
    b, b_id = _live_id(state, toObjectType, toObjectId)
    specs = call.json()
    if not isinstance(specs, list) or not specs:
        raise validation_error("The body must be a non-empty list of association specs")
    for spec in specs:
        cat, tid = spec["associationCategory"], int(spec["associationTypeId"])
        _book(state).link(a, a_id, b, b_id, cat, tid)
    return 201, _labels_between(state, a, a_id, b, b_id)


def _list(call: Call, objectType: str, objectId: str, toObjectType: str) -> tuple[int, Any]:
    state = call.state
    a, a_id = _live_id(state, objectType, objectId)
    b = state.schema.resolve(toObjectType)
    results = [
        {"toObjectId": str(other), "associationTypes": [_spec_json(k) for k in kinds]}
        for other, kinds in _book(state).linked(a, a_id, b)
    ]
    return 200, {"results": results}


def _delete(
    call: Call, objectType: str, objectId: str, toObjectType: str, toObjectId: str
) -> tuple[int, Any]:
    state = call.state
    a, b = state.schema.resolve(objectType), state.schema.resolve(toObjectType)
    if objectId.isdigit() and toObjectId.isdigit():
        _book(state).unlink(a, int(objectId), b, int(toObjectId))
    return 204, None


def _missing_entry(exc: HubSpotError, side: str) -> dict[str, Any]:
    context = exc.body.get("context", {})
    return batch_error(
        "OBJECT_NOT_FOUND",
        str(exc.body["message"]),
        context,
        f"crm.associations.{side}_OBJECT_NOT_FOUND",
    )


def _pair_ids(
    call: Call, item: dict[str, Any], a_type: str, b_type: str
) -> tuple[tuple[str, int, str, int] | None, dict[str, Any] | None]:
    try:
        a, a_id = _live_id(call.state, a_type, item["from"]["id"])
    except HubSpotError as exc:
        return None, _missing_entry(exc, "FROM")
    try:
        b, b_id = _live_id(call.state, b_type, item["to"]["id"])
    except HubSpotError as exc:
        return None, _missing_entry(exc, "TO")
    return (a, a_id, b, b_id), None


def _batch_create(call: Call, fromObjectType: str, toObjectType: str) -> tuple[int, Any]:
    state = call.state
    results, errors = [], []
    for item in _inputs(call, "create"):
        ids, error = _pair_ids(call, item, fromObjectType, toObjectType)
        if ids is None:
            errors.append(error)
            continue
        a, a_id, b, b_id = ids
        for spec in item.get("types") or []:
            cat, tid = spec["associationCategory"], int(spec["associationTypeId"])
            _book(state).link(a, a_id, b, b_id, cat, tid)
        results.append(_labels_between(state, a, a_id, b, b_id))
    call.records_written = len(results)
    return _batch_answer(state, 201, results, errors)


def _batch_default(call: Call, fromObjectType: str, toObjectType: str) -> tuple[int, Any]:
    state = call.state
    results, errors = [], []
    for item in _inputs(call, "default"):
        ids, error = _pair_ids(call, item, fromObjectType, toObjectType)
        if ids is None:
            errors.append(error)
            continue
        a, a_id, b, b_id = ids
        kind = _book(state).default_type(a, b)
        _book(state).link(a, a_id, b, b_id, kind[0], kind[1])
        spec = {"associationCategory": kind[0], "associationTypeId": kind[1]}
        results.append(
            {"from": {"id": str(a_id)}, "to": {"id": str(b_id)}, "associationSpec": spec}
        )
    call.records_written = len(results)
    _, body = _batch_answer(state, 200, results, [])
    if errors:  # this operation documents 200 only; errors ride in the same body
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return 200, body


def _batch_read(call: Call, fromObjectType: str, toObjectType: str) -> tuple[int, Any]:
    state = call.state
    a = state.schema.resolve(fromObjectType)
    b = state.schema.resolve(toObjectType)
    results, errors = [], []
    for item in _inputs(call, "read"):
        key = str(item.get("id", ""))
        linked = _book(state).linked(a, int(key), b) if key.isdigit() else []
        if not linked:
            errors.append(
                batch_error(
                    "OBJECT_NOT_FOUND",
                    f"No {state.schema.singular(b)} is associated with "
                    f"{state.schema.singular(a)} {key}.",
                    {"fromObjectId": [key]},
                    "crm.associations.NO_ASSOCIATIONS_FOUND",
                )
            )
            continue
        to = [
            {"toObjectId": str(other), "associationTypes": [_spec_json(k) for k in kinds]}
            for other, kinds in linked
        ]
        results.append({"from": {"id": key}, "to": to})
    return _batch_answer(state, 200, results, errors)


def _batch_archive(call: Call, fromObjectType: str, toObjectType: str) -> tuple[int, Any]:
    state = call.state
    a, b = state.schema.resolve(fromObjectType), state.schema.resolve(toObjectType)
    for item in _inputs(call, "archive"):
        for target in item.get("to") or []:
            _book(state).unlink(a, int(item["from"]["id"]), b, int(target["id"]))
            call.records_written += 1
    return 204, None


def _labels(call: Call, fromObjectType: str, toObjectType: str) -> tuple[int, Any]:
    a, b = call.state.schema.resolve(fromObjectType), call.state.schema.resolve(toObjectType)
    return 200, {"results": [_spec_json(k) for k in _book(call.state).types(a, b)]}


def _create_label(call: Call, fromObjectType: str, toObjectType: str) -> tuple[int, Any]:
    a, b = call.state.schema.resolve(fromObjectType), call.state.schema.resolve(toObjectType)
    body = call.json()
    if not body.get("label") or not body.get("name"):
        raise validation_error("An association label needs 'label' and 'name'")
    _book(call.state).create_label(a, b, body["label"], body.get("inverseLabel"))
    return 200, {"results": [_spec_json(k) for k in _book(call.state).types(a, b)]}


ROUTES = [
    Route(
        "PUT",
        "/crm/v4/objects/<fromObjectType>/<fromObjectId>/associations/default/"
        "<toObjectType>/<toObjectId>",
        _put_default,
        "write",
    ),
    Route("PUT", f"{_OBJ}/<toObjectType>/<toObjectId>", _put_labelled, "write"),
    Route("GET", f"{_OBJ}/<toObjectType>", _list),
    Route("DELETE", f"{_OBJ}/<toObjectType>/<toObjectId>", _delete, "write"),
    Route("POST", f"{_PAIR}/batch/create", _batch_create, "write"),
    Route("POST", f"{_PAIR}/batch/associate/default", _batch_default, "write"),
    Route("POST", f"{_PAIR}/batch/read", _batch_read),
    Route("POST", f"{_PAIR}/batch/archive", _batch_archive, "write"),
    Route("GET", f"{_PAIR}/labels", _labels),
    Route("POST", f"{_PAIR}/labels", _create_label, "write"),
]
