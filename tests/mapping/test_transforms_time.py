"""The date and datetime transforms: formats, time zones, HubSpot epochs, Excel serials."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mapping.errors import MappingError, TransformError
from mapping.transforms import TransformContext, parse_step, to_canonical, to_native

CHICAGO = TransformContext(timezone="America/Chicago", field="appointment_at", key="R-1")


def out(raw, value, ctx=CHICAGO):
    return to_native([parse_step(raw)], value, ctx)


def into(raw, value, ctx=CHICAGO):
    return to_canonical([parse_step(raw)], value, ctx)


def test_hubspot_date_property_is_midnight_utc_milliseconds_of_the_calendar_date():
    """Failure catalogue: I1."""
    assert out({"date": "epoch_ms"}, date(2024, 3, 10)) == "1710028800000"
    assert into({"date": "epoch_ms"}, "1710028800000") == date(2024, 3, 10)
    assert into({"date": "epoch_ms"}, 1710028800000) == date(2024, 3, 10)
    assert into({"date": "epoch_ms"}, "2024-03-10") == date(2024, 3, 10)  # v3 ISO form


def test_hubspot_datetime_is_epoch_milliseconds_and_iso_is_accepted_back():
    moment = datetime(2024, 3, 10, 9, 30, tzinfo=ZoneInfo("America/New_York"))
    assert out({"datetime": "epoch_ms"}, moment) == "1710077400000"
    assert into({"datetime": "epoch_ms"}, "1710077400000") == moment
    assert into({"datetime": "epoch_ms"}, "2024-03-10T13:30:00Z") == moment


def test_ten_digit_epoch_in_a_millisecond_field_is_refused_not_read_as_1970():
    """Failure catalogue: I1."""
    with pytest.raises(TransformError, match="epoch seconds"):
        into({"datetime": "epoch_ms"}, "1710077400")


def test_date_of_birth_before_1970_survives_epoch_milliseconds():
    """Failure catalogue: I2."""
    dob = date(1931, 2, 28)
    assert into({"date": "epoch_ms"}, out({"date": "epoch_ms"}, dob)) == dob


def test_iso_datetime_goes_out_in_utc_with_z():
    moment = datetime(2024, 11, 3, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=0)
    assert out("datetime", moment) == "2024-11-03T05:30:00Z"
    assert out("datetime", moment.replace(microsecond=123456)) == "2024-11-03T05:30:00.123Z"


def test_salesforce_datetime_reads_back_to_the_same_instant_in_utc():
    value = into("datetime", "2024-11-03T05:30:00.000+0000")
    assert value == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)
    assert value.tzinfo is UTC


def test_naive_local_export_time_is_read_in_the_site_time_zone():
    step = {"datetime": {"format": "%m/%d/%Y %I:%M %p", "also": ["%m/%d/%Y %H:%M"]}}
    expected = datetime(2024, 3, 5, 15, 30, tzinfo=UTC)  # 09:30 CST
    assert into(step, "03/05/2024 9:30 AM") == expected
    assert into(step, "03/05/2024 09:30") == expected
    assert into(step, "2024-03-05 09:30:00") == expected  # ISO is always understood
    assert out(step, expected) == "03/05/2024 09:30 AM"


def test_a_timezone_argument_overrides_the_site_time_zone():
    step = {"datetime": {"format": "%Y-%m-%d %H:%M", "timezone": "America/Phoenix"}}
    assert into(step, "2024-07-01 09:00") == datetime(2024, 7, 1, 16, 0, tzinfo=UTC)


def test_excel_serial_is_read_as_local_time_rounded_to_the_second():
    step = {"datetime": {"format": "%m/%d/%Y %I:%M %p", "excel": True}}
    assert into(step, "45356.395833") == datetime(2024, 3, 5, 15, 30, tzinfo=UTC)
    assert into(step, 45356.395833) == datetime(2024, 3, 5, 15, 30, tzinfo=UTC)
    assert into({"date": {"format": "%m/%d/%Y", "excel": True}}, "45356") == date(2024, 3, 5)
    assert out({"date": "excel"}, date(2024, 3, 5)) == "45356"


def test_dst_overlap_takes_the_first_occurrence_and_a_gap_moves_forward():
    step = {"datetime": "%Y-%m-%d %H:%M"}
    assert into(step, "2024-11-03 01:30") == datetime(2024, 11, 3, 6, 30, tzinfo=UTC)  # CDT
    assert into(step, "2024-03-10 02:30") == datetime(2024, 3, 10, 8, 30, tzinfo=UTC)


def test_an_instant_sent_to_a_date_field_lands_on_the_local_calendar_day():
    late_evening = datetime(2024, 3, 10, 3, 0, tzinfo=UTC)  # 21:00 on the 9th in Chicago
    assert out("date", late_evening) == "2024-03-09"


def test_a_utc_midnight_datetime_in_a_date_field_is_read_as_written():
    assert into("date", "2024-03-10T00:00:00Z") == date(2024, 3, 10)


def test_a_date_sent_to_a_datetime_field_is_local_midnight():
    assert out({"datetime": "iso_local"}, date(2024, 7, 1)) == "2024-07-01T00:00:00-05:00"
    assert into("datetime", "2024-07-01") == datetime(2024, 7, 1, 5, 0, tzinfo=UTC)


def test_two_digit_years_and_us_formats_parse_via_also():
    step = {"date": {"format": "%m/%d/%Y", "also": ["%m/%d/%y"]}}
    assert into(step, "3/5/24") == date(2024, 3, 5)
    assert into(step, "03/05/2024") == date(2024, 3, 5)
    assert out(step, date(2024, 3, 5)) == "03/05/2024"


def test_naive_canonical_datetime_is_refused():
    with pytest.raises(TransformError, match="time zone"):
        out("datetime", datetime(2024, 3, 5, 9, 30))


def test_unknown_site_time_zone_is_a_configuration_problem_not_a_record_error():
    ctx = TransformContext(timezone="Mars/Olympus")
    with pytest.raises(MappingError, match="unknown time zone") as info:
        into({"datetime": "%Y-%m-%d %H:%M"}, "2024-03-05 09:30", ctx)
    assert not isinstance(info.value, TransformError)


@pytest.mark.parametrize("process_tz", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])
def test_results_do_not_depend_on_the_process_time_zone(process_tz):
    before = os.environ.get("TZ")
    os.environ["TZ"] = process_tz
    time.tzset()
    try:
        assert out({"date": "epoch_ms"}, date(2024, 3, 10)) == "1710028800000"
        moment = datetime(2024, 3, 10, 9, 30, tzinfo=ZoneInfo("America/New_York"))
        assert out("datetime", moment) == "2024-03-10T13:30:00Z"
        assert into({"datetime": "%m/%d/%Y %H:%M"}, "03/10/2024 09:30") == datetime(
            2024, 3, 10, 14, 30, tzinfo=UTC
        )
        assert into("date", "1931-02-28") == date(1931, 2, 28)
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


# -- round trips -----------------------------------------------------------------------------

_DATES = st.dates(min_value=date(1900, 3, 1), max_value=date(9998, 12, 31))
_ZONES = st.sampled_from(["UTC", "America/Chicago", "America/Phoenix", "Pacific/Auckland"])
_INSTANTS = st.datetimes(
    min_value=datetime(1900, 3, 2), max_value=datetime(9998, 12, 30), timezones=st.just(UTC)
)


@given(_DATES, st.sampled_from(["iso", "epoch_ms", "excel", "%Y-%m-%d", "%m/%d/%Y"]), _ZONES)
def test_date_round_trips_in_every_format_and_zone(day, fmt, tz):
    steps = [parse_step({"date": fmt})]
    ctx = TransformContext(timezone=tz)
    assert to_canonical(steps, to_native(steps, day, ctx), ctx) == day


@given(
    _INSTANTS.map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)),
    st.sampled_from(["iso", "iso_local", "epoch_ms"]),
    _ZONES,
)
def test_datetime_round_trips_to_the_millisecond(moment, fmt, tz):
    # Ten-digit millisecond values (the first 115 days of 1970) read as seconds, by design.
    assume(
        fmt != "epoch_ms" or abs(moment - datetime(1970, 1, 1, tzinfo=UTC)) > timedelta(days=116)
    )
    steps = [parse_step({"datetime": fmt})]
    ctx = TransformContext(timezone=tz)
    back = to_canonical(steps, to_native(steps, moment, ctx), ctx)
    assert back == moment and back.tzinfo is UTC


@given(_INSTANTS.map(lambda d: d.replace(microsecond=0)), _ZONES)
def test_datetime_round_trips_excel_serials_to_the_second(moment, tz):
    ctx = TransformContext(timezone=tz)
    steps = [parse_step({"datetime": "excel"})]
    back = to_canonical(steps, to_native(steps, moment, ctx), ctx)
    # A wall-clock time repeated in a DST overlap reads back as its first occurrence.
    assert back == moment or abs(back - moment) <= timedelta(hours=1)
    assert to_native(steps, back, ctx) == to_native(steps, moment, ctx)


def test_a_canonical_datetime_in_json_form_sent_to_a_date_field_is_the_local_day():
    assert out("date", "2024-03-10T03:00:00Z") == "2024-03-09"  # 21:00 on the 9th in Chicago
    assert out({"date": "epoch_ms"}, "2024-03-10") == "1710028800000"
    with pytest.raises(TransformError, match="canonical date"):
        out("date", "10/03/2024")
