"""What Salesforce itself does to Task and Event rows on every write (the sandbox's copy).

- ``AccountId`` (read-only) is derived: the ``WhatId`` when it is an Account, else the
  account of the ``WhoId`` contact, else null (Object Reference, Event/Task ``AccountId``).
- ``TaskSubtype`` / ``EventSubtype`` default to ``Task`` / ``Event`` and cannot be updated.
- An Event that is not all-day needs a start (``ActivityDateTime`` or ``StartDateTime``) and a
  length (``DurationInMinutes`` or ``EndDateTime``); Salesforce keeps the four consistent and
  sets ``ActivityDate`` to the start's date. An all-day Event needs ``ActivityDate`` and lasts
  1,440 minutes. A missing one is ``REQUIRED_FIELD_MISSING``, as the API answers.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from connectors.sandbox.salesforce.errors import record_error
from connectors.sandbox.salesforce.store import Row, Store

__all__ = ["ACTIVITY_DEFAULTS", "derive_activity"]

ACTIVITY_DEFAULTS = {
    ("Task", "TaskSubtype"): "Task",
    ("Event", "EventSubtype"): "Event",
    ("Event", "IsAllDayEvent"): False,
}
_DAY_MINUTES = 1440


def derive_activity(store: Store, obj_name: str, row: Row) -> None:
    """Fill the derived fields of a Task or Event ``row`` in place (other objects: nothing)."""
    if obj_name not in ("Task", "Event"):
        return
    row["AccountId"] = _account_of(store, row)
    if obj_name == "Event":
        _event_times(row)


def _account_of(store: Store, row: Row) -> str | None:
    for ref in (row.get("WhatId"), row.get("WhoId")):
        found = store.get_any(ref) if ref else None
        if found is None:
            continue
        obj, target = found
        if obj.name == "Account":
            return str(target["Id"])
        if obj.name == "Contact" and target.get("AccountId"):
            return str(target["AccountId"])
    return None


def _event_times(row: Row) -> None:
    if row.get("IsAllDayEvent"):
        day = row.get("ActivityDate")
        if day is None:
            raise _missing("ActivityDate")
        midnight = datetime.combine(day, time(0), tzinfo=UTC)
        row.update(
            ActivityDateTime=midnight, StartDateTime=midnight, DurationInMinutes=_DAY_MINUTES
        )
        row["EndDateTime"] = midnight + timedelta(minutes=_DAY_MINUTES)
        return
    start: datetime | None = row.get("ActivityDateTime") or row.get("StartDateTime")
    if start is None:
        raise _missing("ActivityDateTime")
    minutes = row.get("DurationInMinutes")
    end: datetime | None = row.get("EndDateTime")
    if minutes is None:
        if end is None:
            raise _missing("DurationInMinutes")
        minutes = int((end - start).total_seconds() // 60)
    row.update(ActivityDateTime=start, StartDateTime=start, DurationInMinutes=minutes)
    row["EndDateTime"] = start + timedelta(minutes=minutes)
    row["ActivityDate"] = start.astimezone(UTC).date()


def _missing(name: str) -> Exception:
    return record_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", name)
