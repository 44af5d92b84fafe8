"""sObject Collections: create, update, upsert by external id, delete (at most 200 records).

A well-formed request answers 200 with one result per record, in request order, even when
records fail; per-record errors use ``statusCode``. With ``allOrNone`` one failure rolls the
whole request back and every other record reports ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.
Over 200 records the request fails with 400 ``EXCEEDED_ID_LIMIT``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

from connectors.sandbox.salesforce.app import Call, Route, json_response
from connectors.sandbox.salesforce.errors import ApiError, RecordFailure, record_error
from connectors.sandbox.salesforce.rest import sobject_or_404
from connectors.sandbox.salesforce.writes import MultipleMatches

__all__ = ["MAX_RECORDS", "ROUTES"]

MAX_RECORDS = 200
_D = "/services/data/v<version>"
_ROLLED_BACK = record_error(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)
Op = Callable[[dict[str, Any]], dict[str, Any]]


def _body(call: Call) -> tuple[list[dict[str, Any]], bool]:
    body = call.json_body()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", 'The request body must be {"records": [...]}')
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    if not all(isinstance(r, dict) for r in records):
        raise ApiError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
    return records, bool(body.get("allOrNone", False))


def _failed(failure: RecordFailure, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"success": False, "errors": [failure.entry()], **(extra or {})}


def _run(
    call: Call, records: list[Any], all_or_none: bool, op: Op, *, upsert: bool = False
) -> Response:
    """Apply ``op`` to each record inside one transaction; roll back if allOrNone fails."""
    store = call.org.store
    results: list[dict[str, Any]] = []
    with store.transaction() as tx:
        for record in records:
            try:
                results.append(op(record))
            except RecordFailure as failure:
                results.append(_failed(failure, {"created": False} if upsert else None))
        if all_or_none and any(not r["success"] for r in results):
            tx.rollback()
            extra = {"created": False} if upsert else None
            results = [r if not r["success"] else _failed(_ROLLED_BACK, extra) for r in results]
            for r in results:
                r.pop("id", None)
    call.written = sum(1 for r in results if r["success"])
    return json_response(results)


def _type_of(call: Call, record: dict[str, Any]) -> Any:
    kind = (record.get("attributes") or {}).get("type")
    if not kind:
        raise record_error("INVALID_TYPE", "Must specify a type in the attributes of each record")
    obj = call.org.store.object(kind)
    if obj is None:
        raise record_error("INVALID_TYPE", f"sObject type '{kind}' is not supported.")
    return obj


def create(call: Call) -> Response:
    records, all_or_none = _body(call)

    def op(record: dict[str, Any]) -> dict[str, Any]:
        obj = _type_of(call, record)
        if any(k.lower() == "id" for k in record):
            raise record_error("INVALID_FIELD", "cannot specify Id in an insert call", "Id")
        return {"id": call.org.writer.create(obj, record), "success": True, "errors": []}

    return _run(call, records, all_or_none, op)


def update(call: Call) -> Response:
    records, all_or_none = _body(call)

    def op(record: dict[str, Any]) -> dict[str, Any]:
        obj = _type_of(call, record)
        row_id = next((v for k, v in record.items() if k.lower() == "id"), None)
        if not row_id:
            raise record_error("MISSING_ARGUMENT", "Id not specified in an update call", "Id")
        call.org.writer.update(obj, str(row_id), record)
        return {
            "id": call.org.writer.live_row(obj, str(row_id))["Id"],
            "success": True,
            "errors": [],
        }

    return _run(call, records, all_or_none, op)


def upsert(call: Call, sobject: str, field: str) -> Response:
    obj = sobject_or_404(call, sobject)
    key = obj.field(field)
    if key is None or not (key.external_id or key.name == "Id"):
        raise ApiError(
            400,
            "INVALID_FIELD",
            f"Field name provided, {field} is not an External ID or indexed field for {obj.name}",
        )
    records, all_or_none = _body(call)
    values = [
        next((v for k, v in r.items() if k.lower() == key.name.lower()), None) for r in records
    ]
    repeated = Counter(str(v).lower() for v in values if v not in (None, ""))

    def op(record: dict[str, Any]) -> dict[str, Any]:
        kind = (record.get("attributes") or {}).get("type")
        if kind and kind.lower() != obj.name.lower():
            raise record_error("INVALID_TYPE", f"Record type {kind} does not match {obj.name}")
        body = {k: v for k, v in record.items() if k.lower() != key.name.lower()}
        value = next((v for k, v in record.items() if k.lower() == key.name.lower()), None)
        if key.name != "Id" and value in (None, ""):
            raise record_error("MISSING_ARGUMENT", f"{key.name} not specified", key.name)
        if value not in (None, "") and repeated[str(value).lower()] > 1:
            raise record_error(
                "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", key.name
            )
        try:
            row_id, created = call.org.writer.upsert(obj, key, value, body)
        except MultipleMatches as exc:
            raise record_error(
                "DUPLICATE_EXTERNAL_ID",
                f"more than one record found for external id field: {exc.ids}",
                key.name,
            ) from None
        return {"id": row_id, "success": True, "errors": [], "created": created}

    return _run(call, records, all_or_none, op, upsert=True)


def delete(call: Call) -> Response:
    ids = [i for i in call.request.args.get("ids", "").split(",") if i]
    if not ids:
        raise ApiError(400, "MISSING_ARGUMENT", "ids parameter is required")
    if len(ids) > MAX_RECORDS:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    all_or_none = call.request.args.get("allOrNone", "false").lower() == "true"

    def op(row_id: str) -> dict[str, Any]:
        found = call.org.store.get_any(row_id) if len(row_id) in (15, 18) else None
        if found is None:
            raise record_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        call.org.writer.delete(found[0], row_id)
        return {"id": found[1]["Id"], "success": True, "errors": []}

    return _run(call, ids, all_or_none, op)  # type: ignore[arg-type]


ROUTES = [
    Route(f"{_D}/composite/sobjects/", ("POST",), "POST composite/sobjects", create, "write"),
    Route(f"{_D}/composite/sobjects/", ("PATCH",), "PATCH composite/sobjects", update, "write"),
    Route(f"{_D}/composite/sobjects/", ("DELETE",), "DELETE composite/sobjects", delete, "write"),
    Route(
        f"{_D}/composite/sobjects/<sobject>/<field>/",
        ("PATCH",),
        "PATCH composite/sobjects upsert",
        upsert,
        "write",
    ),
]
