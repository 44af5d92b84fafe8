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
from datetime import datetime

from connectors.scheduling.dates import (
    NULL_TOKENS,
    LocalClock,
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
    "Columns",
    "EventClock",
    "bad_date",
    "event_clock",
]

EVENT_TIME_COLUMNS: dict[Stage, tuple[str, ...]] = {
    Stage.SCHEDULED: ("made_at", "status_changed_at", "appointment_at"),
    Stage.COMPLETED: ("checkout_at", "status_changed_at", "checkin_at", "appointment_at"),
    Stage.CANCELLED: ("cancelled_at", "status_changed_at", "appointment_at"),
    Stage.NO_SHOW: ("status_changed_at", "cancelled_at", "appointment_at"),
}
"""The default event clock per stage: the first column present wins."""
_TIME_COLUMNS = ("made_at", "cancelled_at", "checkin_at", "checkout_at", "status_changed_at")
_LOST = (Stage.CANCELLED, Stage.NO_SHOW)
_NULLS = NULL_TOKENS
_NULL_LENGTH = max(map(len, NULL_TOKENS))
ABSENT = -1
"""The position of a column the file lacks: every row gets a blank cell appended there."""
CACHE_LIMIT = 8_192
"""Entries per cache of one file's read (cleared when full): memory stays flat on any file."""


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


def _event_order(
    settings: SchedulingSettings, present: tuple[str, ...]
) -> dict[Stage, tuple[int, ...]]:
    """Per stage, the event-clock columns this file has, in priority order, as positions in
    ``present`` (the appointment time first, then the file's other time columns)."""
    order: dict[Stage, tuple[int, ...]] = {}
    for stage in Stage:
        chosen = settings.event_time_columns.get(stage)
        columns: Sequence[str] | None = chosen or EVENT_TIME_COLUMNS.get(stage)
        if columns is None:
            continue  # a stage without an event clock (as before: a KeyError if it occurs)
        if settings.snapshot:  # a snapshot's own time beats the appointment fallback
            columns = [c for c in columns if c != "appointment_at"]
        order[stage] = tuple(present.index(c) for c in columns if c in present)
    return order


EventClock = tuple[
    Callable[[str], Stamp],
    Callable[[list[str], Stage], "Stamp | None"],
    Callable[[list[str], "Stamp | None", tuple[int, ...]], Stamp],
    dict[Stage, tuple[int, ...]],
]


def event_clock(settings: SchedulingSettings, cols: Columns, as_of: datetime) -> EventClock:
    """The parser of the appointment date/time column, the appointment time of a row whose
    column is blank (:func:`_appointment_parts`), the event time of a row given its
    appointment time and its stage's clock (:func:`_event_order`), and those clocks."""
    clock = LocalClock(settings.timezone or "UTC")
    # Made/cancelled/check-in times are mostly distinct: only their date and time-of-day
    # parts are remembered; appointment slots repeat, so whole cells are.
    others = tuple((f, cols.at[f], clock.column(0)) for f in _TIME_COLUMNS if cols.has(f))
    present = ("appointment_at", *(f for f, _, _ in others))
    fallback = (as_of, as_of.isoformat())

    def event(cells: list[str], appointment: Stamp | None, order: tuple[int, ...]) -> Stamp:
        # Every time column is read (a bad one rejects the row), then the clock picks.
        found = [appointment]
        for field, i, parse in others:
            raw = cells[i].strip()
            if len(raw) <= _NULL_LENGTH and raw.casefold() in _NULLS:
                found.append(None)
                continue
            try:
                found.append(parse(raw))
            except ValueError:
                raise bad_date(cols, field) from None
        for position in order:
            hit = found[position]
            if hit is not None:
                return hit
        return fallback

    parts = _appointment_parts(settings, cols)
    return clock.column(CACHE_LIMIT), parts, event, _event_order(settings, present)


def _appointment_parts(
    settings: SchedulingSettings, cols: Columns
) -> Callable[[list[str], Stage], Stamp | None]:
    """The appointment time of a row without one in the date/time column: from its date and
    time columns, else None for a cancellation, else BadRow."""
    i_day, i_time = cols.at["appointment_date"], cols.at["appointment_time"]
    seen: dict[tuple[str, str], Stamp] = {}
    tz = settings.timezone or "UTC"

    def appointment(cells: list[str], stage: Stage) -> Stamp | None:
        day = cells[i_day].strip()
        if not is_blank(day):
            key = (day, cells[i_time].strip())
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
