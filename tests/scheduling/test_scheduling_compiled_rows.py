"""The converter compiled per file: its caches never change what a row becomes."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scheduling_support import KEY_ENV, read_all

from connectors.scheduling import PatientKeyer, SchedulingSettings
from connectors.scheduling.dates import LocalClock, parse_datetime, parse_datetime_parts
from connectors.scheduling.eventclock import NEARBY_CACHE_LIMIT
from connectors.scheduling.presets import PRESETS
from connectors.scheduling.rows import RowContext, compile_rows

EPIC_HEADER = "PAT_ENC_CSN_ID,PAT_MRN_ID,APPT_DTTM,APPT_MADE_DTTM,APPT_STATUS_C,REFERRAL_ID"
ATHENA_HEADER = (
    "APPOINTMENTID\tPATIENTID\tAPPOINTMENTDATE\tAPPOINTMENTSTARTTIME\tAPPOINTMENTSTATUS\t"
    "APPOINTMENTCANCELREASON\tREFERRALAUTHID"
)
CELLS = [
    "03/05/2024 9:30 AM", "3/5/2024 09:30 PM", "03/05/24 12:05 AM", "03/05/2024 12:00 PM",
    "03/05/2024 14:45", "03/05/2024 14:45:59", "03/05/2024", "12/31/68 1:00 AM",
    "01/01/69 1:00 AM", "03/10/2024 2:30 AM", "03/10/2024 1:59 AM", "03/10/2024 3:00 AM",
    "11/03/2024 1:30 AM", "11/03/2024 12:30 AM", "11/03/2024 2:00 AM", "04/07/2024 2:15 AM",
    "10/06/2024 2:15 AM", "03/31/2024 1:30 AM", "10/27/2024 1:30 AM", "03/05/2024 9:30am",
    "03/05/2024  9:30 AM", "2024-03-05 09:30:00", "45356.395833", "05-MAR-2024 09:30",
    "02/29/2024 11:59 PM", "06/15/1950 08:00 AM", "06/15/1750 08:00 AM",
]  # fmt: skip
UNUSABLE = ["02/30/2024 10:00 AM", "13/05/2024 9:00 AM", "01/01/2024 13:00 PM",
            "01/01/2024 0:30 AM", "01/01/2024 24:00", "1/1/24 9:60", "later"]  # fmt: skip
EDGES = ["12/31/9999 11:00 PM", "01/01/0001 1:00 AM", "9999-12-31 23:00"]
"""Beyond the calendar in some zones (west of UTC at the end, east of it at the start)."""
ZONES = ["America/Chicago", "UTC", "Australia/Lord_Howe", "Europe/London", "Asia/Kolkata"]


@pytest.mark.parametrize("zone", ZONES)
def test_the_cached_clock_reads_every_cell_exactly_as_parse_datetime_does(zone):
    clock = LocalClock(zone)
    cached = clock.column(8)
    for _ in range(2):  # the second pass is served from the caches
        for cell in CELLS:
            expected = parse_datetime(cell, zone)
            for when, iso in (clock.stamp(cell), cached(cell)):
                assert (when, when.fold, when.tzinfo) == (expected, expected.fold, expected.tzinfo)
                assert iso == expected.isoformat()


@pytest.mark.parametrize("zone", ZONES)
def test_the_cached_clock_refuses_what_parse_datetime_refuses(zone):
    cached = LocalClock(zone).column(8)
    for cell in UNUSABLE * 2:
        with pytest.raises(ValueError):
            parse_datetime(cell, zone)
        with pytest.raises(ValueError, match="not a recognised date/time") as caught:
            cached(cell)
        assert cell not in str(caught.value)


@pytest.mark.parametrize("zone", ZONES)
def test_at_the_ends_of_the_calendar_the_cached_clock_and_parse_datetime_agree(zone):
    cached = LocalClock(zone).column(8)
    for cell in EDGES:
        try:
            expected: object = parse_datetime(cell, zone).isoformat()
        except ValueError:
            expected = ValueError
        try:
            got: object = cached(cell)[1]
        except ValueError:
            got = ValueError
        assert got == expected


@pytest.mark.parametrize("key", [b"k" * 16, b"x" * 64, b"y" * 65, b"long-key" * 40])
def test_patient_keys_are_rfc_2104_hmac_sha256_for_keys_of_every_length(key):
    keyer = PatientKeyer(key, namespace="east")
    expected = hmac.new(key, b"east|12345", hashlib.sha256).hexdigest()
    assert keyer.for_mrn("0012345") == f"v1:{expected}"
    assert keyer.for_normal_mrn("12345") == f"v1:{expected}"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_status_seen_before_still_becomes_a_no_show_when_its_reason_says_so(tmp_path):
    rows = [
        "1\t11\t03/05/2024\t9:00 AM\tx\t\tA1",
        "2\t12\t03/05/2024\t9:00 AM\tx\tPatient no-show\tA2",
        "3\t13\t03/05/2024\t9:00 AM\tx\tWeather\tA3",
        "4\t14\t03/05/2024\t9:00 AM\tx\tPatient no-show\tA4",
    ]
    path = _write(tmp_path, "athena.tsv", "\n".join([ATHENA_HEADER, *rows]) + "\n")
    result = read_all(path, preset="athenahealth")
    assert result.stages() == {
        "1": "cancelled", "2": "no_show", "3": "cancelled", "4": "no_show",
    }  # fmt: skip


def test_a_bad_time_repeated_on_many_rows_rejects_each_of_them(tmp_path):
    rows = [
        "1,0012,03/05/2024 9:00 AM,02/30/2024 8:00 AM,1,R-1",
        "2,0012,03/05/2024 9:00 AM,02/28/2024 8:00 AM,1,R-2",
        "3,0012,03/05/2024 9:00 AM,02/30/2024 8:00 AM,1,R-3",
        "4,0012,02/30/2024 8:00 AM,02/28/2024 8:00 AM,1,R-4",
        "5,0012,02/30/2024 8:00 AM,02/28/2024 8:00 AM,1,R-5",
    ]
    path = _write(tmp_path, "epic.csv", "\n".join([EPIC_HEADER, *rows]) + "\n")
    result = read_all(path, preset="epic_cadence")
    assert result.reject_lines() == {2: "BAD_DATE", 4: "BAD_DATE", 5: "BAD_DATE", 6: "BAD_DATE"}
    assert [e.field for e in result.rejects] == [
        "made_at", "made_at", "appointment_at", "appointment_at",
    ]  # fmt: skip
    assert all("02/30" not in str(e) for e in result.rejects)
    assert list(result.stages()) == ["2"]


def test_repeated_mrns_and_times_give_the_same_values_as_their_first_row(tmp_path):
    rows = [f"{i},{'000' if i % 2 else ''}4711,03/05/2024 9:00 AM,03/01/2024 8:00 AM,1,"
            for i in range(1, 7)]  # fmt: skip
    path = _write(tmp_path, "epic.csv", "\n".join([EPIC_HEADER, *rows]) + "\n")
    records = read_all(path, preset="epic_cadence").records
    keyer = PatientKeyer.from_env("REFSYNC_PATIENT_KEY", environ=KEY_ENV)
    assert {r.fields["patient_key"] for r in records} == {keyer.for_mrn("4711")}
    assert {r.fields["event_at"] for r in records} == {parse_datetime("03/01/2024 8:00 AM",
                                                                     "America/Chicago")}  # fmt: skip
    assert len({r.id.rsplit(":", 1)[1] for r in records}) == 1


def test_a_date_at_the_end_of_the_calendar_rejects_its_row_and_the_read_goes_on(tmp_path):
    rows = ["1,0012,12/31/9999 11:00 PM,,1,R-1", "2,0012,03/05/2024 9:00 AM,,1,R-2"]
    path = _write(tmp_path, "epic.csv", "\n".join([EPIC_HEADER, *rows]) + "\n")
    result = read_all(path, preset="epic_cadence")
    assert result.reject_lines() == {2: "BAD_DATE"}
    assert list(result.stages()) == ["2"]


def test_rows_shorter_than_the_header_read_their_missing_cells_as_blank(tmp_path):
    rows = ["1,0012,03/05/2024 9:00 AM,,2,R-1", "2,0012,03/05/2024 9:00 AM", "3,0012"]
    path = _write(tmp_path, "epic.csv", "\n".join([EPIC_HEADER, *rows]) + "\n")
    result = read_all(path, preset="epic_cadence")
    assert result.stages() == {"1": "completed"}
    assert result.reject_lines() == {3: "MISSING_STATUS", 4: "MISSING_STATUS"}


def test_a_footer_after_id_like_rows_is_still_not_a_row(tmp_path):
    rows = ["1,0012,03/05/2024 9:00 AM,,2,R-1", "12 records,,,,,", "Total,1", "2", ""]
    path = _write(tmp_path, "epic.csv", "\n".join([EPIC_HEADER, *rows]) + "\n")
    result = read_all(path, preset="epic_cadence")
    assert result.connector.stats.rows == 2
    assert result.reject_lines() == {5: "MISSING_STATUS"}


def test_dates_of_service_and_birth_dates_are_not_kept_in_module_wide_caches():
    from connectors.scheduling import dates

    parse_datetime("03/05/2024 9:30 AM", "America/Chicago")
    dates.parse_date("04/02/1961")
    assert not hasattr(dates.parse_datetime, "cache_info")
    assert not hasattr(dates.parse_date, "cache_info")


SPLIT_DAYS = ["03/05/2024", "3/5/24", "03/10/2024", "11/03/2024", "12/31/68", "01/01/69",
              "02/30/2024", "2024-03-05", "45356", "05-MAR-2024", "06/15/1750", ""]  # fmt: skip
SPLIT_CLOCKS = ["9:30 AM", "09:30 PM", "12:00 AM", "14:45", "14:45:59", "2:30 AM", "1:30 AM",
                "", "0930", "13:00 PM", "9:30am", "03/05/2024 9:30 AM", "null", "24:00"]  # fmt: skip


@pytest.mark.parametrize("zone", ZONES)
def test_separate_date_and_time_columns_read_exactly_as_parse_datetime_parts_does(tmp_path, zone):
    pairs = [(day, clock) for day in SPLIT_DAYS for clock in SPLIT_CLOCKS]
    rows = [f"{i}\t14\t{day}\t{clock}\t3\t\tA{i}" for i, (day, clock) in enumerate(pairs)]
    path = _write(tmp_path, "athena.tsv", "\n".join([ATHENA_HEADER, *rows]) + "\n")

    result = read_all(path, preset="athenahealth", timezone=zone)

    found, rejected = result.by_appointment(), result.reject_lines()
    records = {r.fields["appointment_id"]: r for r in result.records}
    for i, (day, clock) in enumerate(pairs):
        if not day:
            assert rejected[i + 2] == "MISSING_DATE"
            continue
        try:
            when = parse_datetime_parts(day, clock, zone)
        except ValueError:
            assert rejected[i + 2] == "BAD_DATE" and str(i) not in found
            continue
        got, expected = found[str(i)]["appointment_at"], (when, when.tzinfo, when.fold)
        assert (got, got.tzinfo, got.fold) == expected, (day, clock)
        assert got.isoformat() == when.isoformat()
        digest = hashlib.sha256(when.isoformat().encode()).hexdigest()[:12]
        assert records[str(i)].id == f"csv:{i}:completed:{digest}"


def _far_rows(count: int) -> list[tuple[str, str, str]]:
    """(MRN, appointment, made-at) cells that repeat both within and beyond the nearby caches."""
    cells = []
    for i in range(count):
        slot = i % (NEARBY_CACHE_LIMIT + 3)
        cells.append((f"{'00' if i % 2 else ''}{5000 + slot}",
                      f"03/{1 + slot // 12:02d}/2024 {1 + slot % 12}:{slot % 4 * 15:02d} PM",
                      f"02/{1 + i % 28:02d}/2024 8:{i % 60:02d} AM"))  # fmt: skip
    return cells


def test_values_repeated_beyond_the_nearby_caches_read_as_their_first_row_did(tmp_path):
    cells = _far_rows(3 * NEARBY_CACHE_LIMIT + 7)
    rows = [f"{i},{mrn},{appt},{made},1," for i, (mrn, appt, made) in enumerate(cells, 1)]
    path = _write(tmp_path, "epic.csv", "\n".join([EPIC_HEADER, *rows]) + "\n")
    keyer = PatientKeyer.from_env("REFSYNC_PATIENT_KEY", environ=KEY_ENV)

    records = read_all(path, preset="epic_cadence").records

    assert len(records) == len(cells)
    for record, (mrn, appt, made) in zip(records, cells, strict=True):
        made_at = parse_datetime(made, "America/Chicago")
        digest = hashlib.sha256(made_at.isoformat().encode()).hexdigest()[:12]
        assert record.fields["patient_key"] == keyer.for_mrn(mrn)
        assert record.fields["appointment_at"] == parse_datetime(appt, "America/Chicago")
        assert record.fields["event_at"] == made_at
        assert record.id == f"csv:{record.fields['appointment_id']}:scheduled:{digest}"


def test_the_nearby_caches_never_hold_more_than_their_limit(tmp_path):
    cells = _far_rows(2 * NEARBY_CACHE_LIMIT + 7)
    header = EPIC_HEADER.split(",")
    columns = {"appointment_id": 0, "mrn": 1, "appointment_at": 2, "made_at": 3, "status": 4}
    headers = {field: header[i] for field, i in columns.items()}
    ctx = RowContext("epic.csv", datetime(2024, 3, 1, tzinfo=UTC), headers, columns, len(header))
    settings = SchedulingSettings(path=tmp_path, preset="epic_cadence", timezone="UTC")
    keyer = PatientKeyer.from_env("REFSYNC_PATIENT_KEY", environ=KEY_ENV)
    convert = compile_rows(PRESETS["epic_cadence"], settings, keyer, ctx)

    for line, (mrn, appt, made) in enumerate(cells, 2):
        convert([str(line), mrn, appt, made, "1", ""], line)

    caches = convert.__globals__  # the names the generated converter runs over
    for name in ("patients", "at_seen", "digests"):
        assert 0 < len(caches[name]) <= NEARBY_CACHE_LIMIT, name
