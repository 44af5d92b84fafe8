"""Bulk API 2.0 query jobs for large reads: CSV result pages streamed, typed like REST JSON.

A job is created with ``queryAll`` (deleted rows come back with ``IsDeleted = true`` as in the
REST read), polled until ``JobComplete`` (a short backoff up to ``bulk_poll_seconds``; the
sleep is injectable), then its results are read page by page:
``GET jobs/query/{id}/results?maxRecords=N[&locator=L]``. Each response carries
``Sforce-Locator``; the literal ``null`` (or an absent header) ends the paging. The next page is
fetched while the caller decodes and translates this one (one call in flight at most, so the
calls and their order do not change).

CSV cells are text; :func:`cell_parsers` types them from describe so a record read here equals
the same record read through REST JSON (booleans, numbers, ``null`` for a blank cell,
datetimes in REST's ``+0000`` form). Rows are never held beyond one result page.

Calls go through the client's HTTP session with its current token and through
:class:`CallRunner` (quota, retries, re-login), as the Bulk upserts do.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import requests
from simple_salesforce.api import Salesforce

from connectors.salesforce.bulk_jobs import poll_job
from connectors.salesforce.calls import CallRunner
from connectors.salesforce.errors import raise_for_response
from mapping.schema import ObjectSchema

__all__ = ["BulkQuery", "Cell", "cell_parsers", "decode_csv"]

Cell = Callable[[str], Any]
"""Turns one non-blank CSV cell into the value REST JSON would have carried."""

_FIRST_POLL_SECONDS = 0.05
_NUMBER = frozenset({"double", "currency", "percent"})


def _boolean(text: str) -> bool:
    return text == "true"


def _datetime(text: str) -> str:
    # Bulk writes ``...000Z``; REST writes ``...000+0000``. One spelling keeps hashes equal.
    return f"{text[:-1]}+0000" if text.endswith("Z") else text


def _cell(kind: str) -> Cell | None:
    if kind == "boolean":
        return _boolean
    if kind == "int":
        return int
    if kind in _NUMBER:
        return float
    if kind == "datetime":
        return _datetime
    return None  # text: kept as is


def cell_parsers(schema: ObjectSchema, columns: Sequence[str]) -> list[Cell | None]:
    """One parser per result column (``None``: the text is the value), from describe types."""
    return [_cell(schema.fields[c].type) if c in schema.fields else None for c in columns]


def decode_csv(text: str, parsers: Mapping[str, Cell | None]) -> list[dict[str, Any]]:
    """A result page's rows as dicts; a blank cell is ``None`` (Bulk writes nulls blank)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return []
    return _row_reader(header, parsers)(reader)


_Rows = Callable[[Iterator[list[str]]], list[dict[str, Any]]]


def _row_reader(header: Sequence[str], parsers: Mapping[str, Cell | None]) -> _Rows:
    """All rows of a page by one list comprehension compiled for its header: each cell taken
    by position, a blank one as None, a typed one parsed; no loop over cells per row (the
    read's largest cost after the CSV parse itself). Column names enter the source as
    ``repr`` literals only."""
    scope: dict[str, Any] = {}
    cells = []
    for i, name in enumerate(header):
        parse = parsers.get(name)
        if parse is None:
            cells.append(f"{name!r}: v[{i}] or None")
        else:
            scope[f"P{i}"] = parse
            cells.append(f"{name!r}: P{i}(c) if (c := v[{i}]) else None")
    source = f"def rows(reader):\n    return [{{{', '.join(cells)}}} for v in reader]\n"
    exec(compile(source, "<refsync bulk result rows>", "exec"), scope)  # noqa: S102
    rows: _Rows = scope["rows"]
    return rows


class BulkQuery:
    """Runs one SOQL read as a Bulk API 2.0 query job; see the module docstring."""

    def __init__(
        self,
        client: Salesforce,
        runner: CallRunner,
        *,
        poll_seconds: float,
        timeout_seconds: float,
        request_timeout: float,
        page_records: int,
    ) -> None:
        self.client, self.runner = client, runner
        self.poll_seconds, self.timeout_seconds = poll_seconds, timeout_seconds
        self.request_timeout, self.page_records = request_timeout, page_records
        self.job_id: str | None = None

    def pages(
        self, soql: str, parsers: Mapping[str, Cell | None]
    ) -> Iterator[list[dict[str, Any]]]:
        """Create the job, wait for it, then yield its result pages as typed rows."""
        where = "reading through a Bulk API 2.0 query job"
        spec = {
            "operation": "queryAll",
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        self.job_id = job_id = str(self._call(where, "POST", "query", json=spec).json()["id"])
        self._wait(where, job_id)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sf-bulk-read") as pool:
            pending: Future[requests.Response] | None = pool.submit(self._results, job_id, None)
            while pending is not None:
                response = pending.result()
                locator = response.headers.get("Sforce-Locator") or "null"
                pending = pool.submit(self._results, job_id, locator) if locator != "null" else None
                try:
                    rows = decode_csv(response.content.decode("utf-8"), parsers)
                    if rows:
                        yield rows
                except BaseException:
                    if pending is not None:
                        pending.cancel()
                    raise

    def _results(self, job_id: str, locator: str | None) -> requests.Response:
        params = {"maxRecords": str(self.page_records)}
        if locator:
            params["locator"] = locator
        return self._call(
            f"reading Bulk query job {job_id} results",
            "GET",
            f"query/{job_id}/results",
            params=params,
            headers={"Accept": "text/csv"},
        )

    def _call(self, where: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        extra = kwargs.pop("headers", {})

        def send() -> requests.Response:
            # The token is read per attempt: a re-login replaces it on the client.
            response = self.client.session.request(
                method,
                f"{self.client.bulk2_url}{path}",
                headers={**self.client.headers, **extra},
                timeout=self.request_timeout,
                **kwargs,
            )
            raise_for_response(response, where)
            return response

        return self.runner.run(where, send)

    def _wait(self, where: str, job_id: str) -> None:
        poll_job(
            self._call, self.runner.sleep, where, f"query/{job_id}",
            label=f"Bulk query job {job_id}", poll_seconds=self.poll_seconds,
            timeout_seconds=self.timeout_seconds, first_poll=_FIRST_POLL_SECONDS,
            failed=lambda state, info: (
                f"{where}: Salesforce Bulk query job {job_id} ended {state} "
                f"({info.get('errorMessage') or 'no message'}); see Setup > Bulk Data Load "
                "Jobs (or raise bulk_read_threshold to read this object through REST)"
            ),
        )  # fmt: skip
