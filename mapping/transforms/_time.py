"""The ``date`` and ``datetime`` transforms.

Canonical dates are :class:`datetime.date`; canonical datetimes are aware and returned in UTC.
Native formats (the ``format`` argument, or the bare argument):

- ``iso`` (default): ``2024-03-10`` / ``2024-03-10T13:30:00Z`` (UTC, milliseconds at most);
- ``iso_local`` (datetime only): ISO 8601 with the site offset, ``2024-03-10T08:30:00-05:00``;
- ``epoch_ms``: epoch milliseconds as text, as HubSpot wants; a date is midnight UTC of the
  calendar date. A value that looks like epoch *seconds* is refused, not read as 1970;
- ``excel``: an Excel 1900-system serial (``45356.395833`` = 2024-03-05 09:30 local);
- a strftime pattern such as ``%m/%d/%Y %I:%M %p`` (local time in the site time zone).

Inbound also accepts ISO 8601 always, the patterns listed in ``also``, and Excel serials when
``excel: true``. Naive native times are local to ``timezone`` (argument) or the context's site
time zone; in a DST overlap the first occurrence is taken, and a time inside a DST gap moves
forward by the gap (zoneinfo's ``fold=0`` rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from pydantic import Field

from mapping.errors import MappingError
from mapping.transforms._core import (
    ArgsError,
    Invalid,
    StrictArgs,
    Transform,
    TransformContext,
    as_mapping,
    is_blank,
    validate_args,
    zone,
)

__all__ = ["TIME_TRANSFORMS"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_MAX = 2_958_466  # 9999-12-31
_MS = timedelta(milliseconds=1)
_NAMED = {"iso", "iso_local", "epoch_ms", "excel"}
_DESCRIBE = {
    "iso": "ISO 8601 (2024-03-10 or 2024-03-10T13:30:00Z)",
    "iso_local": "ISO 8601 with an offset (2024-03-10T08:30:00-05:00)",
    "epoch_ms": "epoch milliseconds (1710077400000) or ISO 8601",
    "excel": "an Excel serial number (45356.395833)",
}


class _TimeArgs(StrictArgs):
    format: str = "iso"
    also: list[str] = Field(default_factory=list)
    excel: bool = False
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class _Spec:
    format: str
    patterns: tuple[str, ...]  # strftime patterns tried inbound, in order
    excel: bool
    timezone: str | None


def _compiler(*, with_time: bool) -> Any:
    def compile_spec(raw: Any) -> _Spec:
        data = raw if as_mapping(raw) is not None else ({} if raw is None else {"format": raw})
        args = validate_args(_TimeArgs, data)
        named = _NAMED if with_time else _NAMED - {"iso_local"}
        if args.format not in named and "%" not in args.format:
            raise ArgsError(
                f"unknown format {args.format!r}; use {', '.join(sorted(named))} "
                "or a strftime pattern such as %m/%d/%Y"
            )
        if any("%" not in p for p in args.also):
            raise ArgsError("`also` lists strftime patterns such as %m/%d/%y")
        if args.timezone is not None:
            try:
                zone(args.timezone)
            except MappingError as exc:
                raise ArgsError(exc.message) from None
        patterns = tuple(p for p in (args.format, *args.also) if "%" in p)
        return _Spec(args.format, patterns, args.excel or args.format == "excel", args.timezone)

    return compile_spec


def _tz(spec: _Spec, ctx: TransformContext) -> tzinfo:
    return zone(spec.timezone or ctx.timezone)


def _expected(spec: _Spec, what: str) -> Invalid:
    return Invalid(f"expected {what} in format {_DESCRIBE.get(spec.format, repr(spec.format))}")


# -- numeric encodings --------------------------------------------------------------------


def _epoch_like(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (
        isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()) is not None
    )


def _from_epoch_ms(value: Any) -> datetime:
    ms = int(value)
    # Ten digits or fewer reads as seconds (a 1970 date otherwise), except an exact UTC midnight,
    # which is how a date in early 1970 legitimately looks in milliseconds.
    if 0 < abs(ms) < 10**10 and ms % 86_400_000:
        raise Invalid("looks like epoch seconds; this field takes epoch milliseconds")
    try:
        return _EPOCH + ms * _MS
    except OverflowError:
        raise Invalid("epoch milliseconds out of range") from None


def _to_epoch_ms(moment: datetime) -> str:
    return str((moment - _EPOCH) // _MS)


def _excel_like(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or (
        isinstance(value, str) and re.fullmatch(r"\d{1,7}(\.\d+)?", value.strip()) is not None
    )


def _from_excel(value: Any) -> datetime:
    serial = float(value)
    if not 1 <= serial < _EXCEL_MAX:
        raise Invalid("Excel serial number out of range")
    return _EXCEL_EPOCH + timedelta(seconds=round(serial * 86400))


def _to_excel(local: datetime) -> float:
    return (local.replace(tzinfo=None) - _EXCEL_EPOCH) / timedelta(days=1)


# -- date ---------------------------------------------------------------------------------


def _canonical_date(value: Any, spec: _Spec, ctx: TransformContext) -> date:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise Invalid("a canonical datetime without a time zone cannot be placed on a day")
        return value.astimezone(_tz(spec, ctx)).date()  # the local calendar day of an instant
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        try:  # a canonical datetime in its JSON form: the local calendar day of the instant
            return _canonical_date(datetime.fromisoformat(text.replace("Z", "+00:00")), spec, ctx)
        except ValueError:
            raise Invalid("expected a canonical date (YYYY-MM-DD) or datetime") from None
    raise Invalid("expected a date")


def _date_out(value: Any, spec: _Spec, ctx: TransformContext) -> Any:
    day = _canonical_date(value, spec, ctx)
    if spec.format == "iso":
        return day.isoformat()
    if spec.format == "epoch_ms":
        return _to_epoch_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))
    if spec.format == "excel":
        return str((day - _EXCEL_EPOCH.date()).days)
    return day.strftime(spec.format)


def _date_in(value: Any, spec: _Spec, ctx: TransformContext) -> Any:
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if spec.format == "epoch_ms" and _epoch_like(value):
        return _from_epoch_ms(value).date()  # midnight UTC of the calendar date
    if spec.excel and _excel_like(value):
        return _from_excel(value).date()
    if not isinstance(value, str):
        raise _expected(spec, "a date")
    text = value.strip()
    for pattern in spec.patterns:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    try:
        # A date-time given for a date field is read as written (HubSpot and Salesforce mean
        # the calendar date, at midnight UTC), never shifted through a time zone.
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise _expected(spec, "a date") from None


# -- datetime -----------------------------------------------------------------------------


def _localise(moment: datetime, tz: tzinfo) -> datetime:
    local = moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)
    return local.astimezone(UTC)


def _canonical_moment(value: Any, spec: _Spec, ctx: TransformContext) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise Invalid("expected a canonical ISO 8601 date-time with an offset") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise Invalid("a canonical datetime must carry a time zone")
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=_tz(spec, ctx))
    raise Invalid("expected a date-time")


def _iso_utc(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    spec = "seconds" if utc.microsecond == 0 else "milliseconds"
    return utc.isoformat(timespec=spec).replace("+00:00", "Z")


def _datetime_out(value: Any, spec: _Spec, ctx: TransformContext) -> Any:
    moment = _canonical_moment(value, spec, ctx)
    if spec.format == "iso":
        return _iso_utc(moment)
    if spec.format == "epoch_ms":
        return _to_epoch_ms(moment)
    local = moment.astimezone(_tz(spec, ctx))
    if spec.format == "iso_local":
        return local.isoformat()
    if spec.format == "excel":
        return f"{_to_excel(local):.6f}"
    return local.strftime(spec.format)


def _datetime_in(value: Any, spec: _Spec, ctx: TransformContext) -> Any:
    if is_blank(value):
        return None
    tz = _tz(spec, ctx)
    if isinstance(value, datetime):
        return _localise(value, tz)
    if isinstance(value, date):
        return _localise(datetime(value.year, value.month, value.day), tz)
    if spec.format == "epoch_ms" and _epoch_like(value):
        return _from_epoch_ms(value)
    if spec.excel and _excel_like(value):
        return _localise(_from_excel(value), tz)
    if not isinstance(value, str):
        raise _expected(spec, "a date and time")
    text = value.strip()
    for pattern in spec.patterns:
        try:
            return _localise(datetime.strptime(text, pattern), tz)
        except ValueError:
            continue
    try:
        return _localise(datetime.fromisoformat(text), tz)
    except ValueError:
        raise _expected(spec, "a date and time") from None


TIME_TRANSFORMS: tuple[Transform, ...] = (
    Transform(
        "date",
        "calendar date <-> text: format iso (default), epoch_ms (midnight UTC), excel or a "
        "strftime pattern: {date: '%m/%d/%Y'} or {date: {format: ..., also: [...], excel: true}}",
        _date_out,
        _date_in,
        _compiler(with_time=False),
    ),
    Transform(
        "datetime",
        "instant <-> text: format iso (UTC, default), iso_local, epoch_ms, excel or a strftime "
        "pattern in the site time zone: {datetime: {format: '%m/%d/%Y %I:%M %p', timezone: ...}}",
        _datetime_out,
        _datetime_in,
        _compiler(with_time=True),
    ),
)
