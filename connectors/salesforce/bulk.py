"""Bulk API 2.0 upserts for large runs, with results parsed back to per-record outcomes.

One ingest job per ~90 MB of CSV (Salesforce's cap is 100 MB): create the job, upload the CSV,
mark it ``UploadComplete``, poll until ``JobComplete`` (the sleep is injectable), then read
``successfulResults`` and ``failedResults``. Result rows come back in no particular order, so
they are matched to inputs by the external-id column, never by position or returned id. A
record in neither file was not processed and is reported as such.

Calls go through the client's HTTP session with the client's current token and through
:class:`CallRunner`, so quota, retries and re-login apply as for every other call
(simple-salesforce's bulk2 handler keeps the token it started with and cannot re-login).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from simple_salesforce.api import Salesforce

from connectors.base import WriteResult
from connectors.salesforce.bulk_jobs import poll_job
from connectors.salesforce.calls import CallRunner
from connectors.salesforce.errors import raise_for_response, record_error
from connectors.salesforce.writes import SCALARS, field_names, flat_items

__all__ = ["BulkUpsert", "csv_value", "parse_error"]

_MAX_CSV_BYTES = 90 * 1024 * 1024  # characters; Salesforce caps a job at 100 MB


def csv_value(value: Any) -> str:
    """A Bulk CSV cell: ``#N/A`` nulls a field (a blank cell would leave it unchanged)."""
    if type(value) is str:  # most cells: no isinstance chain
        return value
    if value is None:
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ";".join(str(v) for v in value)
    return str(value)


def parse_error(text: str) -> tuple[str, list[str]]:
    """(code, fields) from an ``sf__Error`` cell like ``CODE:message:Field1,Field2 --``."""
    code, _, rest = text.partition(":")
    rest = rest.strip()
    fields: list[str] = []
    if rest.endswith("--"):
        tail = rest[:-2].rsplit(":", 1)
        if len(tail) == 2:
            fields = [f.strip() for f in tail[1].split(",") if f.strip()]
    return code.strip() or "UNKNOWN", fields


def _csv_parts(
    records: Sequence[Mapping[str, Any]], columns: list[str], header: list[str]
) -> list[str]:
    """CSV texts (header + rows), each below the job's size cap."""
    parts: list[str] = []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    rows = 0
    for record in records:
        # A record of scalars is its own row; one with a nested relation is flattened (one
        # row at a time: the records are not copied all at once).
        flat = SCALARS.issuperset(map(type, record.values()))
        row = record if flat else dict(flat_items(record))
        writer.writerow([csv_value(row[c]) if c in row else "" for c in columns])
        rows += 1
        if buffer.tell() > _MAX_CSV_BYTES:
            parts.append(buffer.getvalue())
            buffer, rows = io.StringIO(), 0
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(header)
    if rows:
        parts.append(buffer.getvalue())
    return parts


def _text_lines(body: bytes) -> io.TextIOWrapper:
    """A result CSV body as text lines, decoded a block at a time: ``io.StringIO`` of the
    decoded text would hold four bytes per character of a whole job's results at once."""
    return io.TextIOWrapper(io.BytesIO(body), encoding="utf-8", newline="")


class BulkUpsert:
    """Upserts one object's records through Bulk API 2.0 ingest jobs."""

    def __init__(
        self,
        client: Salesforce,
        runner: CallRunner,
        object_name: str,
        key: str,
        *,
        poll_seconds: float,
        timeout_seconds: float,
        request_timeout: float,
        polymorphic: Mapping[str, str] | None = None,
    ) -> None:
        self.client, self.runner = client, runner
        self.object_name, self.key = object_name, key
        self.poll_seconds, self.timeout_seconds = poll_seconds, timeout_seconds
        self.request_timeout = request_timeout
        # Polymorphic lookup columns are written ``Type:Rel.Field`` (``Account:What.Ext__c``).
        self.polymorphic = dict(polymorphic or {})
        self.jobs: list[str] = []

    def run(self, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        columns = field_names(records)
        outcome: dict[str, WriteResult] = {}
        header = [self._header(c) for c in columns]
        for text in _csv_parts(records, columns, header):
            job_id = self._run_job(text)
            outcome.update(self._results(job_id))
        return [self._result_for(str(r.get(self.key) or ""), outcome) for r in records]

    def _header(self, column: str) -> str:
        rel = column.partition(".")[0] if "." in column else None
        target = self.polymorphic.get(rel) if rel else None
        return f"{target}:{column}" if target else column

    def _result_for(self, key: str, outcome: Mapping[str, WriteResult]) -> WriteResult:
        found = outcome.get(key)
        if found is not None:
            return found
        error = record_error(self.object_name, self.key, key, "UNPROCESSED", None)
        return WriteResult(key, error=error)

    def _call(self, where: str, method: str, path: str, **kwargs: Any) -> Any:
        extra = kwargs.pop("headers", {})

        def send() -> Any:
            # The token is read per attempt: a re-login replaces it on the client.
            headers = {**self.client.headers, **extra}
            response = self.client.session.request(
                method,
                f"{self.client.bulk2_url}{path}",
                headers=headers,
                timeout=self.request_timeout,
                **kwargs,
            )
            raise_for_response(response, where)
            return response

        return self.runner.run(where, send)

    def _run_job(self, text: str) -> str:
        where = f"Bulk upsert of {self.object_name} by {self.key}"
        spec = {
            "object": self.object_name,
            "externalIdFieldName": self.key,
            "contentType": "CSV",
            "operation": "upsert",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        job_id = str(self._call(where, "POST", "ingest/", json=spec).json()["id"])
        self.jobs.append(job_id)
        self._call(
            where,
            "PUT",
            f"ingest/{job_id}/batches/",
            data=text.encode("utf-8"),
            headers={"Content-Type": "text/csv"},
        )
        self._call(where, "PATCH", f"ingest/{job_id}/", json={"state": "UploadComplete"})
        self._wait(where, job_id)
        return job_id

    def _wait(self, where: str, job_id: str) -> None:
        poll_job(
            self._call, self.runner.sleep, where, f"ingest/{job_id}/",
            label=f"Bulk job {job_id}", poll_seconds=self.poll_seconds,
            timeout_seconds=self.timeout_seconds, first_poll=self.poll_seconds,
            failed=lambda state, _info: (
                f"{where}: Salesforce Bulk job {job_id} ended {state}; see Setup > Bulk "
                "Data Load Jobs for its error, fix it and re-run (upserts are safe to repeat)"
            ),
        )  # fmt: skip

    def _results(self, job_id: str) -> dict[str, WriteResult]:
        where = f"reading Bulk job {job_id} results"
        accept = {"Accept": "text/csv"}
        out: dict[str, WriteResult] = {}
        ok = self._call(where, "GET", f"ingest/{job_id}/successfulResults/", headers=accept)
        for row in csv.DictReader(_text_lines(ok.content)):
            key = row.get(self.key, "")
            created = row.get("sf__Created", "").lower() == "true"
            out[key] = WriteResult(key, row.get("sf__Id") or None, created)
        failed = self._call(where, "GET", f"ingest/{job_id}/failedResults/", headers=accept)
        for row in csv.DictReader(_text_lines(failed.content)):
            key = row.get(self.key, "")
            code, fields = parse_error(row.get("sf__Error", ""))
            error = record_error(self.object_name, self.key, key, code, fields)
            out[key] = WriteResult(key, row.get("sf__Id") or None, error=error)
        return out
