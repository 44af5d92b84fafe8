"""The times of a CSV row: its appointment time and its event time.

**The event clock.** The event time of a row is when its status became true: the first
column of :data:`EVENT_TIME_COLUMNS` (or the connection's ``event_time_columns``) that the
row has, per stage. Every stage falls back to the appointment's date and time (for an
outcome that is when it happened; for a booking without a made-at column the engine's fold
orders it before its own appointment's outcome). The file's modification time is used only
when the connection declares ``snapshot: true`` ("as of when the file was written, the status
was X"), and for a cancellation that carries no time at all.

Which columns each vendor's export has (see ``presets.py``): Epic Cadence ``APPT_MADE_DTTM``,
``APPT_CANC_DTTM``, ``CHECKIN_DTTM``/``CHECKOUT_DTTM``; athenahealth
``APPOINTMENTSCHEDULEDDATETIME``, ``APPOINTMENTCANCELLEDDATETIME``, check-in/out times
(no-shows are cancellations with a no-show reason); NextGen ``Created Date``, ``Cancel Date``,
``Checkin Time``/``Checkout Time``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from connectors.scheduling.dates import (
    Stamp,
    is_blank,
    parse_datetime_parts,
)
from connectors.scheduling.presets import CSV_FIELDS
from connectors.scheduling.rejects import BadRow
from connectors.scheduling.settings import SchedulingSettings
from mapping.model import Stage

__all__ = [
    "ABSENT",
    "CACHE_LIMIT",
    "EVENT_TIME_COLUMNS",
    "NEARBY_CACHE_LIMIT",
    "TIME_COLUMNS",
    "Columns",
    "appointment_parts",
    "bad_date",
    "event_order",
]

EVENT_TIME_COLUMNS: dict[Stage, tuple[str, ...]] = {
    Stage.SCHEDULED: ("made_at", "status_changed_at", "appointment_at"),
    Stage.COMPLETED: ("checkout_at", "status_changed_at", "checkin_at", "appointment_at"),
    Stage.CANCELLED: ("cancelled_at", "status_changed_at", "appointment_at"),
    Stage.NO_SHOW: ("status_changed_at", "cancelled_at", "appointment_at"),
}
"""The default event clock per stage: the first column present wins."""
TIME_COLUMNS = ("made_at", "cancelled_at", "checkin_at", "checkout_at", "status_changed_at")
"""The time columns besides the appointment's, in the order a row's are read (every one a
row has is read, and the first unusable one rejects the row)."""
_LOST = (Stage.CANCELLED, Stage.NO_SHOW)
ABSENT = -1
"""The position of a column the file lacks (its cell reads as blank)."""
CACHE_LIMIT = 8_192
"""Entries per cache of one file's read (cleared when full): memory stays flat on any file."""
NEARBY_CACHE_LIMIT = 256
"""Entries of the caches of values that are mostly distinct across a file but repeat on
nearby rows (an export sorted by date repeats a slot, its event time and a patient's visits
close together): whole appointment cells, event-time hashes, patient keys. Kept small
because most lookups miss: at 8,192 entries their misses landed outside the CPU's caches and
the read took ~15 % more CPU than at 256 (several hundred KB of table and entries per cache,
cleared and regrown every 8,192 rows), on shuffled and on date-sorted exports alike."""


class Columns:
    """Native field -> position in the row (:data:`ABSENT` for columns the file lacks)."""

    def __init__(self, columns: Mapping[str, int], headers: Mapping[str, str]) -> None:
        self.at = {f: columns.get(f, ABSENT) for f in CSV_FIELDS}
        self.headers = headers  # native field -> the header text in this file

    def header(self, field: str) -> str:
        return self.headers.get(field, field)

    def has(self, field: str) -> bool:
        return self.at[field] != ABSENT


def bad_date(cols: Columns, field: str) -> BadRow:
    """The reject of an unusable time in ``field`` (its header named, never its value)."""
    return BadRow(
        f"column '{cols.header(field)}' is not a recognised date/time (US, ISO or Excel serial)",
        field=field,
        code="BAD_DATE",
    )


def event_order(
    settings: SchedulingSettings, present: tuple[str, ...]
) -> dict[Stage, tuple[str, ...]]:
    """Per stage, the event-clock columns this file has (of ``present``: the appointment
    time and the file's other time columns), in priority order. A stage without an event
    clock has no entry (the settings refuse a status_map that sends a status to one)."""
    order: dict[Stage, tuple[str, ...]] = {}
    for stage in Stage:
        chosen = settings.event_time_columns.get(stage)
        columns: Sequence[str] | None = chosen or EVENT_TIME_COLUMNS.get(stage)
        if columns is None:
            continue
        if settings.snapshot:  # a snapshot's own time beats the appointment fallback
            columns = [c for c in columns if c != "appointment_at"]
        order[stage] = tuple(c for c in columns if c in present)
    return order


def appointment_parts(
    settings: SchedulingSettings, cols: Columns
) -> Callable[[str, str, Stage], Stamp | None]:
    """The appointment time of a row without one in the date/time column, from its stripped
    date and time cells: None for a cancellation without a date, else BadRow. (The generated
    converter reads the dominant shape from the clock's cached parts and comes here for the
    rest: blanks, other shapes, DST transition days, unusable cells.)"""
    seen: dict[tuple[str, str], Stamp] = {}
    tz = settings.timezone or "UTC"

    def appointment(day: str, clock: str, stage: Stage) -> Stamp | None:
        if not is_blank(day):
            key = (day, clock)
            if key not in seen:
                try:
                    when = parse_datetime_parts(*key, tz)
                except ValueError:
                    raise BadRow(
                        f"columns '{cols.header('appointment_date')}'/"
                        f"'{cols.header('appointment_time')}' are not a recognised date/time",
                        field="appointment_date",
                        code="BAD_DATE",
                    ) from None
                if len(seen) >= CACHE_LIMIT:
                    seen.clear()
                seen[key] = (when, when.isoformat())
            return seen[key]
        if stage not in _LOST:  # FHIR app-3: only cancelled may lack a time
            raise BadRow(
                "appointment date/time is empty (allowed only for cancellations)",
                field="appointment_at",
                code="MISSING_DATE",
            )
        return None

    return appointment
