"""Bulk API 2.0: ingest jobs (CSV upload, UploadComplete, results CSVs) and query jobs.

Ingest: ``POST jobs/ingest`` (Open) -> ``PUT .../batches`` (201, no body) ->
``PATCH {"state": "UploadComplete"}`` (the data is applied then) -> polls show ``InProgress``
``bulk_polls_until_complete`` times, then ``JobComplete`` with the counts ->
``successfulResults`` (``sf__Id``, ``sf__Created``), ``failedResults`` (``sf__Id``,
``sf__Error``), ``unprocessedrecords``. A header naming an unknown field fails the job.
Query: ``POST jobs/query`` runs the SOQL at once (``UploadComplete``; polls show
``InProgress`` ``bulk_polls_until_complete`` times, then ``JobComplete``);
``results?maxRecords=&locator=`` pages the CSV with ``Sforce-NumberOfRecords`` and
``Sforce-Locator`` (``null`` on the last page); a blank cell is a null, datetimes are written
``...000Z``; ``PATCH {"state": "Aborted"}`` aborts a job that is not complete.
"""

from __future__ import annotations

import base64
import csv
import functools
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Response

from connectors.sandbox.salesforce.app import Call, Route, json_response
from connectors.sandbox.salesforce.errors import ApiError, RecordFailure, record_error
from connectors.sandbox.salesforce.query import QueryResult, run_query
from connectors.sandbox.salesforce.schema import FieldDef, ObjectDef
from connectors.sandbox.salesforce.values import (
    coerce_csv,
    format_datetime,
    is_text,
    to_csv,
    to_id18,
)
from connectors.sandbox.salesforce.writes import MultipleMatches

__all__ = ["ROUTES"]

_D = "/services/data/v<version>/jobs"
_DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
_SEQ = itertools.count(1)
_CSV = "text/csv;charset=UTF-8"


@dataclass
class Job:
    id: str
    kind: str  # "ingest" | "query"
    info: dict[str, Any]
    data: list[str] = field(default_factory=list)
    polls_left: int = 0
    successful: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    result: QueryResult | None = None


def _job(call: Call, job_id: str, kind: str) -> Job:
    job: Job | None = call.org.jobs.get(job_id)
    if job is None or job.kind != kind:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return job


def _info(call: Call, job: Job) -> dict[str, Any]:
    if job.info["state"] in ("UploadComplete", "InProgress"):
        if job.polls_left > 0:
            job.polls_left -= 1
            job.info["state"] = "InProgress"
        else:
            job.info["state"] = "JobComplete"
    return job.info


def _new_info(call: Call, body: dict[str, Any], kind: str) -> dict[str, Any]:
    now = format_datetime(call.org.store.clock())
    job_id = f"750Dn{next(_SEQ):010d}AAA"
    return {
        "id": job_id,
        "operation": body.get("operation"),
        "object": body.get("object"),
        "createdById": call.org.sessions.user_id,
        "createdDate": now,
        "systemModstamp": now,
        "state": "Open" if kind == "ingest" else "UploadComplete",
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(call.version),
        "jobType": "V2Ingest" if kind == "ingest" else "V2Query",
        "lineEnding": body.get("lineEnding", "LF"),
        "columnDelimiter": body.get("columnDelimiter", "COMMA"),
        "numberRecordsProcessed": 0,
        "numberRecordsFailed": 0,
        "retries": 0,
        "totalProcessingTime": 0,
    }


# -- ingest -----------------------------------------------------------------------------------


def create_ingest(call: Call) -> Response:
    body = call.json_body() or {}
    obj = call.org.store.object(str(body.get("object", "")))
    if obj is None:
        raise ApiError(
            400, "INVALIDENTITY", f"Entity '{body.get('object')}' is not supported by the Bulk API"
        )
    if body.get("operation") not in _OPERATIONS:
        raise ApiError(400, "INVALIDJOB", f"Invalid operation: {body.get('operation')}")
    if body.get("operation") == "upsert":
        key = obj.field(str(body.get("externalIdFieldName") or ""))
        if key is None or not (key.external_id or key.name == "Id"):
            raise ApiError(
                400,
                "INVALIDJOB",
                f"External ID was blank or invalid for {obj.name}. "
                "An External ID must be specified for upsert.",
            )
    info = _new_info(call, {**body, "object": obj.name}, "ingest")
    if body.get("operation") == "upsert":
        info["externalIdFieldName"] = body["externalIdFieldName"]
    info["contentUrl"] = f"services/data/v{call.version}/jobs/ingest/{info['id']}/batches"
    call.org.jobs[info["id"]] = Job(info["id"], "ingest", info)
    return json_response(info)


def upload(call: Call, job_id: str) -> Response:
    job = _job(call, job_id, "ingest")
    if job.info["state"] != "Open":
        raise ApiError(409, "INVALIDJOBSTATE", f"Job {job_id} is not open for data upload")
    job.data.append(call.request.get_data(as_text=True))
    return Response(status=201)


def set_state(call: Call, job_id: str) -> Response:
    job = _job(call, job_id, "ingest")
    state = (call.json_body() or {}).get("state")
    if state == "Aborted":
        job.info["state"] = "Aborted"
    elif state == "UploadComplete" and job.info["state"] == "Open":
        job.info["state"] = "UploadComplete"
        job.polls_left = call.org.bulk_polls_until_complete
        _process(call, job)
    else:
        raise ApiError(409, "INVALIDJOBSTATE", f"Cannot move job {job_id} to state {state}")
    return json_response(job.info)


def _process(call: Call, job: Job) -> None:
    delimiter = _DELIMITERS.get(job.info["columnDelimiter"], ",")
    rows = list(csv.reader(io.StringIO("".join(job.data)), delimiter=delimiter))
    if not rows:
        return
    obj = call.org.store.object(job.info["object"])
    assert obj is not None
    job.header = rows[0]
    unknown = [c for c in job.header if _column_field(obj, c) is None]
    if unknown:
        job.info.update(
            state="Failed", errorMessage=f"InvalidBatch : Field name not found : {unknown[0]}"
        )
        return
    with call.org.store.lock:
        for values in rows[1:]:
            _apply_row(call, job, obj, values)
    job.info["numberRecordsProcessed"] = len(rows) - 1
    job.info["numberRecordsFailed"] = len(job.failed)
    call.written = len(job.successful)


def _column_field(obj: ObjectDef, column: str) -> FieldDef | None:
    """The field a CSV column writes: ``Field``, ``Rel.ExtField`` or ``Type:Rel.ExtField``."""
    if "." in column:
        rel = column.partition(".")[0].rpartition(":")[2]
        return obj.relationship(rel)
    return obj.field(column)


def _row_body(obj: ObjectDef, header: list[str], values: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for column, text in zip(header, values, strict=False):
        if text == "":
            continue  # blank cells are ignored; #N/A nulls a field
        if "." in column:
            rel, _, key = column.partition(".")
            kind, _, rel = rel.rpartition(":")  # polymorphic: Referral__c:What.Ext__c
            body[rel] = {key: None if text == "#N/A" else text}
            if kind:
                body[rel]["attributes"] = {"type": kind}
        else:
            body[column] = text
    return body


def _csv_coerce(f: FieldDef, value: Any) -> Any:
    try:
        return coerce_csv(f, value) if isinstance(value, str) else value
    except ValueError:
        raise record_error(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{f.label}: value not of required type: {value}",
            f.name,
        ) from None


def _apply_row(call: Call, job: Job, obj: ObjectDef, values: list[str]) -> None:
    body = _row_body(obj, job.header, values)
    writer, op = call.org.writer, job.info["operation"]
    row_id = next((v for k, v in body.items() if k.lower() == "id"), "")
    try:
        created = False
        if op == "insert":
            row_id, created = writer.create(obj, body, _csv_coerce), True
        elif op == "upsert":
            key = obj.field(job.info["externalIdFieldName"])
            assert key is not None
            value = body.pop(next((k for k in body if k.lower() == key.name.lower()), ""), None)
            row_id, created = writer.upsert(obj, key, value, body, _csv_coerce)
        elif op == "update":
            writer.update(obj, row_id, body, _csv_coerce)
        else:
            writer.delete(obj, row_id)
            if op == "hardDelete":
                call.org.store.table(obj.name).remove(to_id18(row_id))
        job.successful.append([row_id, "true" if created else "false", *values])
    except MultipleMatches as exc:
        failure = record_error(
            "DUPLICATE_EXTERNAL_ID", f"more than one record found for external id field: {exc.ids}"
        )
        job.failed.append([row_id, failure.csv_text(), *values])
    except RecordFailure as failure:
        job.failed.append([row_id if op != "insert" else "", failure.csv_text(), *values])


def _csv_response(
    header: list[str], rows: list[list[str]], headers: dict[str, str] | None = None
) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(out.getvalue(), 200, headers=headers, content_type=_CSV)


def _finished(call: Call, job: Job) -> None:
    if _info(call, job)["state"] not in ("JobComplete", "Failed", "Aborted"):
        raise ApiError(409, "INVALIDJOBSTATE", f"Job {job.id} is not complete yet")


def successful_results(call: Call, job_id: str) -> Response:
    job = _job(call, job_id, "ingest")
    _finished(call, job)
    return _csv_response(["sf__Id", "sf__Created", *job.header], job.successful)


def failed_results(call: Call, job_id: str) -> Response:
    job = _job(call, job_id, "ingest")
    _finished(call, job)
    return _csv_response(["sf__Id", "sf__Error", *job.header], job.failed)


def unprocessed(call: Call, job_id: str) -> Response:
    job = _job(call, job_id, "ingest")
    rows = [] if job.header else list(csv.reader(io.StringIO("".join(job.data))))[1:]
    return _csv_response(job.header, rows)


def get_ingest(call: Call, job_id: str) -> Response:
    return json_response(_info(call, _job(call, job_id, "ingest")))


def delete_job(call: Call, job_id: str) -> Response:
    job = call.org.jobs.get(job_id)
    if job is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    if job.info["state"] in ("Open", "InProgress"):
        raise ApiError(
            409, "INVALIDJOBSTATE", f"Job {job_id} cannot be deleted in state {job.info['state']}"
        )
    del call.org.jobs[job_id]
    return Response(status=204)


# -- query ------------------------------------------------------------------------------------


def create_query(call: Call) -> Response:
    body = call.json_body() or {}
    operation = body.get("operation")
    if operation not in ("query", "queryAll"):
        raise ApiError(400, "INVALIDJOB", f"Invalid operation: {operation}")
    try:
        result = run_query(
            call.org.store,
            str(body.get("query", "")),
            include_deleted=operation == "queryAll",
            version=call.version,
        )
    except ApiError as exc:
        raise ApiError(400, "API_ERROR", exc.message) from None
    if result.count_only:
        raise ApiError(
            400, "API_ERROR", "Aggregate queries are not supported by Bulk API 2.0 query jobs"
        )
    info = _new_info(call, {**body, "object": result.obj.name}, "query")
    info["numberRecordsProcessed"] = len(result.rows)
    job = Job(
        info["id"], "query", info, result=result, polls_left=call.org.bulk_polls_until_complete
    )
    call.org.jobs[info["id"]] = job
    return json_response(info)


def get_query(call: Call, job_id: str) -> Response:
    return json_response(_info(call, _job(call, job_id, "query")))


def abort_query(call: Call, job_id: str) -> Response:
    job = _job(call, job_id, "query")
    state = (call.json_body() or {}).get("state")
    if state != "Aborted" or _info(call, job)["state"] in ("JobComplete", "Failed", "Aborted"):
        raise ApiError(409, "INVALIDJOBSTATE", f"Cannot move job {job_id} to state {state}")
    job.info["state"] = "Aborted"
    return json_response(job.info)


@functools.lru_cache(maxsize=8192)
def _query_datetime(value: datetime) -> str:
    # Bulk query results write datetimes in UTC with a Z (REST JSON writes +0000).
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _text_cell(value: Any) -> str:
    return "" if value is None else str(value)


def _query_cell(f: FieldDef) -> Callable[[Any], str]:
    """How one result column renders a stored value (blank for null)."""
    if f.type == "datetime":
        return lambda v: "" if v is None else _query_datetime(v)
    if is_text(f) or f.type in ("id", "reference"):
        return _text_cell
    return functools.partial(to_csv, f)


def query_results(call: Call, job_id: str) -> Response:
    job = _job(call, job_id, "query")
    _finished(call, job)
    assert job.result is not None
    args = call.request.args
    size = int(args.get("maxRecords") or 50_000)
    locator = args.get("locator") or ""
    start = int(base64.b64decode(locator).decode()) if locator else 0
    end = min(start + size, len(job.result.rows))
    columns = job.result.columns
    cells = [(c.get, _query_cell(c.field)) for c in columns]
    rows = [[render(get(row)) for get, render in cells] for row in job.result.rows[start:end]]
    next_locator = (
        base64.b64encode(str(end).encode()).decode() if end < len(job.result.rows) else "null"
    )
    headers = {"Sforce-NumberOfRecords": str(len(rows)), "Sforce-Locator": next_locator}
    return _csv_response([c.path.text for c in columns], rows, headers)


ROUTES = [
    Route(f"{_D}/ingest/", ("POST",), "POST jobs/ingest", create_ingest),
    Route(f"{_D}/ingest/<job_id>/", ("GET",), "GET jobs/ingest", get_ingest),
    Route(f"{_D}/ingest/<job_id>/", ("PATCH",), "PATCH jobs/ingest", set_state, "write"),
    Route(f"{_D}/ingest/<job_id>/", ("DELETE",), "DELETE jobs/ingest", delete_job),
    Route(f"{_D}/ingest/<job_id>/batches/", ("PUT",), "PUT jobs/ingest batches", upload),
    Route(
        f"{_D}/ingest/<job_id>/successfulResults/",
        ("GET",),
        "GET jobs/ingest results",
        successful_results,
    ),
    Route(
        f"{_D}/ingest/<job_id>/failedResults/", ("GET",), "GET jobs/ingest results", failed_results
    ),
    Route(
        f"{_D}/ingest/<job_id>/unprocessedrecords/",
        ("GET",),
        "GET jobs/ingest results",
        unprocessed,
    ),
    Route(
        f"{_D}/ingest/<job_id>/unprocessedRecords/",
        ("GET",),
        "GET jobs/ingest results",
        unprocessed,
    ),
    Route(f"{_D}/query/", ("POST",), "POST jobs/query", create_query),
    Route(f"{_D}/query/<job_id>/", ("GET",), "GET jobs/query", get_query),
    Route(f"{_D}/query/<job_id>/", ("PATCH",), "PATCH jobs/query", abort_query),
    Route(f"{_D}/query/<job_id>/", ("DELETE",), "DELETE jobs/query", delete_job),
    Route(f"{_D}/query/<job_id>/results/", ("GET",), "GET jobs/query results", query_results),
]
