"""Date/time parsing for scheduling exports.

Accepts ISO 8601 (with or without offset), US forms (``03/05/2024 9:30 AM``, two-digit
years, 24 h), SQL dumps (``2024-03-05 09:30:00``), Oracle/Clarity (``05-MAR-2024``), compact
``20240305``, and Excel serial numbers (1900 date system, epoch 1899-12-30, rounded to the
second). Values without an offset are clinic-local: the site's IANA zone is attached with
``fold=0`` (the earlier instant of a repeated DST hour; a time in the spring-forward gap is
read with the pre-transition offset, i.e. lands one hour later on the wall clock).

:class:`LocalClock` is the CSV reader's per-file parser: it caches per distinct cell (exports
repeat the same slot times on many rows) and reads the dominant US shape from cached date and
time-of-day parts. Its caches hold dates of service (PHI), so they live as long as one file's
read and are bounded (cleared when full: memory stays flat on any file); the module-level
functions keep no such cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "NULL_TOKENS",
    "ClockParts",
    "LocalClock",
    "Stamp",
    "is_blank",
    "parse_date",
    "parse_datetime",
    "parse_datetime_parts",
]

NULL_TOKENS = frozenset({"", "null", "none", "n/a", "na", "-", "--", "#n/a", "nan"})

_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
_ISO_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}")
_GLUED_MERIDIEM = re.compile(r"(\d)\s*([AaPp])\.?[Mm]\.?$")
_MILITARY = re.compile(r"(\d{1,2})(\d{2})")
# The commonest US export shape, parsed without strptime (several times faster).
_US = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?(?: ?([AP])M)?)?"
)

_DATETIME_FORMATS = (
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%y %I:%M %p",
    "%m/%d/%y %H:%M",
    "%m-%d-%Y %H:%M",
    "%d-%b-%Y %H:%M",
    "%d-%b-%Y %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
)
_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%d-%b-%Y", "%Y/%m/%d", "%Y%m%d")
_TIME_FORMATS = ("%I:%M %p", "%I:%M:%S %p", "%H:%M", "%H:%M:%S")


_NULL_LENGTH = max(map(len, NULL_TOKENS))


def is_blank(value: str | None) -> bool:
    if value is None:
        return True
    text = value.strip()
    # casefold never shortens text, so a longer cell cannot be a null token.
    return len(text) <= _NULL_LENGTH and text.casefold() in NULL_TOKENS


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    return UTC if name == "UTC" else ZoneInfo(name)


def _localise(naive: datetime, tz: str) -> datetime:
    # Round-trip through UTC so a wall time in a DST gap becomes a real instant.
    aware = naive.replace(tzinfo=_zone(tz), fold=0)
    try:
        return aware.astimezone(UTC).astimezone(aware.tzinfo)
    except OverflowError:  # 9999-12-31 late in the day west of UTC: a bad cell, not a crash
        raise ValueError("not a recognised date/time") from None


def _excel(value: str) -> datetime | None:
    if not _EXCEL_SERIAL.fullmatch(value):
        return None
    serial = float(value)
    if not 20000 <= serial <= 80000:  # 1954..2119: anything else is not a date
        return None
    return _EXCEL_EPOCH + timedelta(seconds=round(serial * 86400))


def _clean(value: str) -> str:
    v = " ".join(value.split())
    return _GLUED_MERIDIEM.sub(lambda m: f"{m.group(1)} {m.group(2).upper()}M", v)


def _us(value: str) -> datetime | None:
    m = _US.fullmatch(value)
    if m is None:
        return None
    month, day, year, hour, minute, second, meridiem = m.groups()
    y = int(year) if len(year) == 4 else 2000 + int(year) - (100 if int(year) > 68 else 0)
    h = int(hour or 0)
    if meridiem is not None:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if meridiem == "P" else 0)
    try:
        return datetime(y, int(month), int(day), h, int(minute or 0), int(second or 0))
    except ValueError:
        return None


def _strptime(value: str, formats: tuple[str, ...]) -> datetime | None:
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def parse_datetime(value: str, tz: str) -> datetime:
    """An aware datetime from an export cell; ``ValueError`` (without the value) if unusable."""
    v = _clean(value)
    if _ISO_PREFIX.match(v):
        try:
            parsed = datetime.fromisoformat(v)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else _localise(parsed, tz)
    naive = _us(v) or _excel(v) or _strptime(v, _DATETIME_FORMATS) or _strptime(v, _DATE_FORMATS)
    if naive is None:
        raise ValueError("not a recognised date/time")
    return _localise(naive, tz)


def parse_date(value: str) -> date:
    """A calendar date (birth dates, date-only columns); ``ValueError`` if unusable."""
    v = _clean(value)
    if _ISO_PREFIX.match(v):
        return date.fromisoformat(v[:10])
    naive = _excel(v) or _strptime(v, _DATE_FORMATS) or _strptime(v, _DATETIME_FORMATS)
    if naive is None:
        raise ValueError("not a recognised date")
    return naive.date()


@lru_cache(maxsize=4096)
def _parse_time(value: str) -> time:
    v = _clean(value)
    if m := _MILITARY.fullmatch(v):  # 0930 / 930
        return time(int(m.group(1)), int(m.group(2)))
    if re.fullmatch(r"0?\.\d+", v):  # Excel time-of-day fraction
        seconds = round(float(v) * 86400)
        return (datetime.min + timedelta(seconds=seconds)).time()
    parsed = _strptime(v, _TIME_FORMATS)
    if parsed is None:
        raise ValueError("not a recognised time")
    return parsed.time()


def parse_datetime_parts(day: str, clock: str | None, tz: str) -> datetime:
    """Combine a date column and an optional time column (local to ``tz``)."""
    if is_blank(clock):
        return _localise(datetime.combine(parse_date(day), time()), tz)
    assert clock is not None
    if _ISO_PREFIX.match(clock.strip()) or "/" in clock:  # a full datetime in the time column
        return parse_datetime(clock, tz)
    return _localise(datetime.combine(parse_date(day), _parse_time(clock)), tz)


Stamp = tuple[datetime, str]
"""An aware datetime and its ``isoformat()`` (what event ids hash)."""

_US_DAY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4}|[0-9]{2})")
_US_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?: ([AP])M)?")
_Day = tuple[int, int, int, str, str]  # year, month, day, ISO date, UTC offset as isoformat
_Clock = tuple[int, int, int, str]  # hour, minute, second, ISO time
ClockParts = tuple[
    dict[str, "_Day | None"],
    dict[str, "_Clock | None"],
    Callable[[str], "_Day | None"],
    Callable[[str], "_Clock | None"],
    Callable[[str], Stamp],
    tzinfo,
]


class LocalClock:
    """Parses one file's clinic-local cells exactly as :func:`parse_datetime` does, cached.

    The dominant shape (``03/05/2024 9:30 AM``, a single space, ASCII digits) is assembled
    from a cached date part and a cached time-of-day part without regex or strptime per cell,
    on days without a UTC-offset change (a DST transition day, like every other shape, takes
    :func:`parse_datetime`). Build one per file read: the caches hold dates of service.
    """

    def __init__(self, tz: str, limit: int = 4096) -> None:
        self._tz = tz
        self._zone = _zone(tz)
        self._limit = limit  # distinct date parts and time-of-day parts kept
        self._days: dict[str, _Day | None] = {}
        self._clocks: dict[str, _Clock | None] = {}

    def column(self, limit: int) -> Callable[[str], Stamp]:
        """:meth:`stamp` for one column, remembering up to ``limit`` distinct cells (cleared
        when full; columns repeat values at different rates, so each has its own)."""
        seen: dict[str, Stamp] = {}
        stamp = self._stamp()

        def parse(cell: str) -> Stamp:
            hit = seen.get(cell)
            if hit is None:
                hit = stamp(cell)
                if len(seen) >= limit:
                    seen.clear()
                seen[cell] = hit
            return hit

        return parse if limit > 0 else stamp

    def stamp(self, cell: str) -> Stamp:
        """``(parse_datetime(cell, tz), its isoformat())``; ``ValueError`` if unusable."""
        return self._stamp()(cell)

    def parts(self) -> ClockParts:
        """What :meth:`stamp` is made of, for code that inlines it (the generated row
        converter): the date-part and time-of-day caches, the functions that fill them
        (None: not the dominant shape), the full parser of any other shape and the zone.
        A cell is the dominant shape when its time-of-day part resolves (only a resolved
        date part is looked up further); its instant is then
        ``datetime(year, month, day, hour, minute, second, 0, zone)`` and its isoformat
        ``f"{iso_day}T{iso_clock}{offset}"``."""
        return self._days, self._clocks, self._day, self._clock, self._other, self._zone

    def _stamp(self) -> Callable[[str], Stamp]:
        days, clocks, day_of, clock_of, other, zone = self.parts()

        def stamp(cell: str) -> Stamp:
            day, _, clock = cell.partition(" ")
            d = days[day] if day in days else day_of(day)
            t = None if d is None else clocks[clock] if clock in clocks else clock_of(clock)
            if d is not None and t is not None:
                year, month, mday, iso_day, offset = d
                hour, minute, second, iso_clock = t
                when = datetime(year, month, mday, hour, minute, second, 0, zone)
                return when, f"{iso_day}T{iso_clock}{offset}"
            return other(cell)

        return stamp

    def _other(self, cell: str) -> Stamp:
        when = parse_datetime(cell, self._tz)
        return when, when.isoformat()

    def _day(self, text: str) -> _Day | None:
        found: _Day | None = None
        m = _US_DAY.fullmatch(text)
        if m is not None:
            month, mday, year = (int(g) for g in m.groups())
            if len(m.group(3)) == 2:  # the same pivot as _us
                year = 2000 + year - (100 if year > 68 else 0)
            try:  # years far from now take parse_datetime (it refuses the calendar's ends)
                noon = (
                    datetime(year, month, mday, 12, tzinfo=self._zone)
                    if 1800 < year < 2400
                    else None
                )
            except ValueError:
                noon = None
            if noon is not None and self._steady(noon):
                found = (year, month, mday, noon.date().isoformat(), noon.isoformat()[19:])
        if len(self._days) >= self._limit:
            self._days.clear()
        self._days[text] = found
        return found

    def _steady(self, noon: datetime) -> bool:
        # One UTC offset at every hour from midnight to the next midnight: no transition
        # (gap or fold) that day, so attaching the zone equals _localise's UTC round trip.
        midnight = noon.replace(hour=0)
        offsets = {(midnight + timedelta(hours=h)).utcoffset() for h in range(25)}
        return len(offsets) == 1

    def _clock(self, text: str) -> _Clock | None:
        found: _Clock | None = (0, 0, 0, "00:00:00") if not text else None
        m = _US_CLOCK.fullmatch(text)
        if m is not None:
            hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
            meridiem = m.group(4)
            if meridiem is not None and 1 <= hour <= 12:
                hour = hour % 12 + (12 if meridiem == "P" else 0)
            elif meridiem is not None:
                hour = 99  # "13:00 PM": not a time; parse_datetime decides
            if hour < 24 and minute < 60 and second < 60:
                found = (hour, minute, second, f"{hour:02d}:{minute:02d}:{second:02d}")
        if len(self._clocks) >= self._limit:
            self._clocks.clear()
        self._clocks[text] = found
        return found
