"""getUpdated / getDeleted (``sf.Contact.updated(start, end)`` / ``.deleted(start, end)``).

Windows are UTC, seconds truncated; ``start`` must precede ``end`` (else 400
``INVALID_REPLICATION_DATE``); getUpdated reaches back 30 days, getDeleted 15 days. Both
work on ``SystemModstamp`` (a delete stamps it, so it is the deletion date here).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from werkzeug.wrappers import Response

from connectors.sandbox.salesforce.app import Call, Route, json_response
from connectors.sandbox.salesforce.errors import ApiError
from connectors.sandbox.salesforce.rest import sobject_or_404
from connectors.sandbox.salesforce.store import Row
from connectors.sandbox.salesforce.values import format_datetime, parse_datetime

__all__ = ["ROUTES"]

_D = "/services/data/v<version>/sobjects/<sobject>"
MAX_IDS = 600_000


def _window(call: Call, days: int) -> tuple[datetime, datetime]:
    try:
        start = parse_datetime(call.request.args["start"])
        end = parse_datetime(call.request.args["end"])
    except (KeyError, ValueError) as exc:
        raise ApiError(
            400, "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 date-times"
        ) from exc
    if start >= end:
        raise ApiError(400, "INVALID_REPLICATION_DATE", "start date must be before end date")
    if start < call.org.store.clock() - timedelta(days=days):
        raise ApiError(
            400, "INVALID_REPLICATION_DATE", f"start date cannot be more than {days} days ago"
        )
    return start, end.replace(second=0)


def _rows(call: Call, sobject: str, start: datetime, end: datetime, deleted: bool) -> list[Row]:
    obj = sobject_or_404(call, sobject)
    with call.org.store.lock:
        rows = [
            row
            for row in call.org.store.table(obj.name).rows.values()
            if bool(row.get("IsDeleted")) == deleted and start <= row["SystemModstamp"] <= end
        ]
    if len(rows) > MAX_IDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", f"more than {MAX_IDS} ids in the window")
    return sorted(rows, key=lambda r: r["SystemModstamp"])


def updated(call: Call, sobject: str) -> Response:
    start, end = _window(call, 30)
    rows = _rows(call, sobject, start, end, deleted=False)
    return json_response(
        {"ids": [r["Id"] for r in rows], "latestDateCovered": format_datetime(end)}
    )


def deleted(call: Call, sobject: str) -> Response:
    start, end = _window(call, 15)
    rows = _rows(call, sobject, start, end, deleted=True)
    earliest = call.org.store.clock() - timedelta(days=15)
    return json_response(
        {
            "deletedRecords": [
                {"id": r["Id"], "deletedDate": format_datetime(r["SystemModstamp"])} for r in rows
            ],
            "earliestDateAvailable": format_datetime(earliest.replace(microsecond=0)),
            "latestDateCovered": format_datetime(end),
        }
    )


ROUTES = [
    Route(f"{_D}/updated/", ("GET",), "GET sobjects updated", updated),
    Route(f"{_D}/deleted/", ("GET",), "GET sobjects deleted", deleted),
]
