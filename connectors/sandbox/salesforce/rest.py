"""REST handlers: login, limits, describe, sObject CRUD, upsert by external id, SOQL."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from connectors.sandbox.salesforce.app import Call, Org, Route, json_response
from connectors.sandbox.salesforce.auth import (
    LoginFailed,
    soap_fault,
    soap_login_response,
    token_response,
)
from connectors.sandbox.salesforce.describe import describe_global, describe_sobject, sobject_info
from connectors.sandbox.salesforce.errors import ApiError, RecordFailure
from connectors.sandbox.salesforce.query import PAGE_MAX, PAGE_MIN, QueryResult, run_query
from connectors.sandbox.salesforce.schema import ObjectDef
from connectors.sandbox.salesforce.values import to_json
from connectors.sandbox.salesforce.writes import MultipleMatches

__all__ = ["ROUTES", "sobject_or_404"]

_D = "/services/data/v<version>"


# -- login ------------------------------------------------------------------------------------


def soap_login(org: Org, request: Request, version: str) -> Response:
    try:
        token = org.sessions.soap_login(org.creds, request.get_data(), version)
    except LoginFailed as exc:
        return Response(
            soap_fault(exc.code, exc.message), 500, content_type="text/xml;charset=UTF-8"
        )
    body = soap_login_response(org.instance_url, version, org.sessions, token, org.creds.username)
    return Response(body, 200, content_type="text/xml;charset=UTF-8")


def oauth_token(org: Org, request: Request) -> Response:
    try:
        token = org.sessions.token(
            org.creds, request.form.to_dict(), request.headers.get("Authorization")
        )
    except LoginFailed as exc:
        return json_response({"error": exc.code, "error_description": exc.message}, 400)
    return json_response(token_response(org.instance_url, org.sessions, token))


# -- limits and describe ----------------------------------------------------------------------


def limits(call: Call) -> Response:
    allowance = call.org.allowance
    return json_response(
        {
            "DailyApiRequests": {
                "Max": allowance.daily_limit,
                "Remaining": max(allowance.daily_limit - allowance.used, 0),
            },
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DataStorageMB": {"Max": 1024, "Remaining": 1024},
            "FileStorageMB": {"Max": 1024, "Remaining": 1024},
        }
    )


def sobject_or_404(call: Call, name: str) -> ObjectDef:
    obj = call.org.store.object(name)
    if obj is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return obj


def global_describe(call: Call) -> Response:
    return json_response(describe_global(call.org.store.objects(), call.version))


def sobject_describe(call: Call, sobject: str) -> Response:
    obj = sobject_or_404(call, sobject)
    return json_response(describe_sobject(obj, call.org.store.objects(), call.version))


def sobject_metadata(call: Call, sobject: str) -> Response:
    obj = sobject_or_404(call, sobject)
    return json_response({"objectDescribe": sobject_info(obj, call.version), "recentItems": []})


# -- records ----------------------------------------------------------------------------------


def _record_json(call: Call, obj: ObjectDef, row: dict[str, Any], fields: str | None) -> Any:
    chosen = obj.fields
    if fields:
        wanted = [obj.field(n.strip()) for n in fields.split(",") if n.strip()]
        if any(f is None for f in wanted):
            raise ApiError(400, "INVALID_FIELD", f"No such column on entity '{obj.name}'")
        chosen = tuple(f for f in wanted if f is not None)
    url = f"/services/data/v{call.version}/sobjects/{obj.name}/{row['Id']}"
    out: dict[str, Any] = {"attributes": {"type": obj.name, "url": url}}
    out.update({f.name: to_json(f, row.get(f.name)) for f in chosen})
    return out


def _api_error(failure: RecordFailure) -> ApiError:
    """A per-record failure as single-record endpoints answer it (404 for missing records)."""
    status = 404 if failure.code in ("NOT_FOUND", "ENTITY_IS_DELETED") else 400
    fields = None if failure.code == "NOT_FOUND" else failure.fields
    return ApiError(status, failure.code, failure.message, fields)


def create(call: Call, sobject: str) -> Response:
    obj = sobject_or_404(call, sobject)
    body = call.json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject")
    with call.org.store.lock:
        try:
            row_id = call.org.writer.create(obj, body)
        except RecordFailure as failure:
            raise _api_error(failure) from None
    call.written = 1
    return json_response({"id": row_id, "success": True, "errors": []}, 201)


def get_record(call: Call, sobject: str, record_id: str) -> Response:
    obj = sobject_or_404(call, sobject)
    with call.org.store.lock:
        try:
            row = call.org.writer.live_row(obj, record_id)
        except RecordFailure as failure:
            raise _api_error(failure) from None
    return json_response(_record_json(call, obj, row, call.request.args.get("fields")))


def update(call: Call, sobject: str, record_id: str) -> Response:
    obj = sobject_or_404(call, sobject)
    with call.org.store.lock:
        try:
            call.org.writer.update(obj, record_id, call.json_body() or {})
        except RecordFailure as failure:
            raise _api_error(failure) from None
    call.written = 1
    return Response(status=204)


def delete(call: Call, sobject: str, record_id: str) -> Response:
    obj = sobject_or_404(call, sobject)
    with call.org.store.lock:
        try:
            call.org.writer.delete(obj, record_id)
        except RecordFailure as failure:
            raise _api_error(failure) from None
    call.written = 1
    return Response(status=204)


def _external_key(call: Call, sobject: str, field: str) -> tuple[ObjectDef, Any]:
    obj = sobject_or_404(call, sobject)
    key = obj.field(field)
    if key is None or not (key.external_id or key.name == "Id"):
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return obj, key


def get_by_external_id(call: Call, sobject: str, field: str, value: str) -> Response:
    obj, key = _external_key(call, sobject, field)
    with call.org.store.lock:
        ids = call.org.store.table(obj.name).matches(key.name, value)
        if len(ids) > 1:
            urls = [f"/services/data/v{call.version}/sobjects/{obj.name}/{i}" for i in ids]
            return json_response(urls, 300)
        if not ids:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        row = call.org.store.get(obj.name, ids[0])
    return json_response(_record_json(call, obj, row or {}, call.request.args.get("fields")))


def upsert(call: Call, sobject: str, field: str, value: str) -> Response:
    obj, key = _external_key(call, sobject, field)
    body = dict(call.json_body() or {})
    in_body = next((k for k in body if k.lower() == key.name.lower()), None)
    if in_body is not None and str(body.pop(in_body)) != value:
        raise ApiError(
            400,
            "INVALID_FIELD",
            f"{key.name} is set in the URL and differs in the request body",
        )
    with call.org.store.lock:
        try:
            row_id, created = call.org.writer.upsert(obj, key, value, body)
        except MultipleMatches as exc:
            urls = [f"/services/data/v{call.version}/sobjects/{obj.name}/{i}" for i in exc.ids]
            return json_response(urls, 300)
        except RecordFailure as failure:
            raise _api_error(failure) from None
    call.written = 1
    if float(call.version) < 46.0 and not created:
        return Response(status=204)
    result = {"id": row_id, "success": True, "errors": [], "created": created}
    return json_response(result, 201 if created else 200)


# -- SOQL -------------------------------------------------------------------------------------


def _page_size(call: Call) -> int:
    options = call.request.headers.get("Sforce-Query-Options", "")
    for part in options.split(","):
        name, _, raw = part.strip().partition("=")
        if name.strip().lower() == "batchsize" and raw.strip().isdigit():
            return min(max(int(raw), PAGE_MIN), PAGE_MAX)
    return PAGE_MAX


def _page(call: Call, result: QueryResult, cursor: str | None, start: int, kind: str) -> Response:
    total = len(result.rows)
    if result.count_only:
        return json_response({"totalSize": total, "done": True, "records": []})
    size = _page_size(call)
    user = call.org.sessions.user_id
    body: dict[str, Any] = {"totalSize": total, "done": start + size >= total}
    if not body["done"]:
        cursor = cursor or call.org.cursors.open(user, result)
        body["nextRecordsUrl"] = f"/services/data/v{call.version}/{kind}/{cursor}-{start + size}"
    elif cursor:
        call.org.cursors.close(user, cursor)
    body["records"] = result.page(start, size)
    return json_response(body)


def _run(call: Call, kind: str) -> Response:
    text = call.request.args.get("q")
    if not text:
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    result = run_query(
        call.org.store, text, include_deleted=kind == "queryAll", version=call.version
    )
    return _page(call, result, None, 0, kind)


def _more(call: Call, locator: str, kind: str) -> Response:
    cursor, _, offset = locator.rpartition("-")
    if not cursor or not offset.isdigit():
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    result = call.org.cursors.get(call.org.sessions.user_id, cursor)
    return _page(call, result, cursor, int(offset), kind)


def query(call: Call) -> Response:
    return _run(call, "query")


def query_all(call: Call) -> Response:
    return _run(call, "queryAll")


def query_more(call: Call, locator: str) -> Response:
    return _more(call, locator, "query")


def query_all_more(call: Call, locator: str) -> Response:
    return _more(call, locator, "queryAll")


ROUTES = [
    Route("/services/Soap/u/<version>", ("POST",), "POST soap login", soap_login, "auth"),
    Route("/services/oauth2/token", ("POST",), "POST oauth2/token", oauth_token, "auth"),
    Route(f"{_D}/limits/", ("GET",), "GET limits", limits),
    Route(f"{_D}/sobjects/", ("GET",), "GET describe global", global_describe),
    Route(f"{_D}/sobjects/<sobject>/", ("GET",), "GET sobject info", sobject_metadata),
    Route(f"{_D}/sobjects/<sobject>/", ("POST",), "POST sobjects", create, "write"),
    Route(f"{_D}/sobjects/<sobject>/describe/", ("GET",), "GET describe", sobject_describe),
    Route(f"{_D}/sobjects/<sobject>/<record_id>/", ("GET",), "GET sobjects", get_record),
    Route(f"{_D}/sobjects/<sobject>/<record_id>/", ("PATCH",), "PATCH sobjects", update, "write"),
    Route(f"{_D}/sobjects/<sobject>/<record_id>/", ("DELETE",), "DELETE sobjects", delete, "write"),
    Route(
        f"{_D}/sobjects/<sobject>/<field>/<path:value>",
        ("GET",),
        "GET sobjects by external id",
        get_by_external_id,
    ),
    Route(
        f"{_D}/sobjects/<sobject>/<field>/<path:value>", ("PATCH",), "PATCH upsert", upsert, "write"
    ),
    Route(f"{_D}/query/", ("GET",), "GET query", query),
    Route(f"{_D}/query/<locator>/", ("GET",), "GET query more", query_more),
    Route(f"{_D}/queryAll/", ("GET",), "GET queryAll", query_all),
    Route(f"{_D}/queryAll/<locator>/", ("GET",), "GET queryAll more", query_all_more),
]
