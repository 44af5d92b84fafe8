"""Messy exports: encodings, banners, totals, blank lines, quoted newlines, NULs, stray columns."""

from __future__ import annotations

import codecs
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from scheduling_support import FIXTURES, read_all

CHI = ZoneInfo("America/Chicago")
EPIC_HEADER = "PAT_ENC_CSN_ID,PAT_MRN_ID,APPT_DTTM,APPT_STATUS_C,REFERRAL_ID,CANCEL_REASON_NAME"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_utf8_bom_before_the_first_header_does_not_hide_the_header():
    """Failure catalogue: J1."""
    result = read_all(FIXTURES / "epic_cadence_report.csv", preset="epic_cadence")
    assert FIXTURES.joinpath("epic_cadence_report.csv").read_bytes().startswith(codecs.BOM_UTF8)
    assert len(result.records) == 6


def test_utf8_without_bom_reads_the_same(tmp_path):
    raw = FIXTURES.joinpath("epic_cadence_report.csv").read_bytes()[len(codecs.BOM_UTF8) :]
    result = read_all(_write(tmp_path, "epic.csv", raw), preset="epic_cadence")
    assert len(result.records) == 6


def test_windows_1252_export_is_decoded_not_rejected():
    result = read_all(FIXTURES / "athenahealth_appointments.csv", preset="athenahealth")
    assert result.by_appointment()["880101"]["department"] == "Peña Cardiology - Main"


def test_encoding_override_wins_over_detection(tmp_path):
    data = f"{EPIC_HEADER}\n1,1,2024-03-05 09:00,2,R-1,Señal\n".encode("latin-1")
    result = read_all(_write(tmp_path, "x.csv", data), preset="epic_cadence", encoding="latin-1")
    assert len(result.records) == 1


def test_utf16_export_with_bom_is_read(tmp_path):
    """Failure catalogue: J1."""
    data = f"{EPIC_HEADER}\r\n1,1,2024-03-05 09:00,2,R-1,\r\n".encode("utf-16")
    result = read_all(_write(tmp_path, "x.csv", data), preset="epic_cadence")
    assert result.stages() == {"1": "completed"}


def test_banner_lines_totals_and_trailing_blank_lines_are_not_rows():
    result = read_all(FIXTURES / "epic_cadence_report.csv", preset="epic_cadence")
    assert result.connector.stats.rows == 6
    assert result.rejects == []


def test_quoted_newline_stays_in_its_cell_and_later_line_numbers_stay_true():
    """Failure catalogue: J1."""
    rows = read_all(FIXTURES / "epic_cadence_report.csv", preset="epic_cadence").by_appointment()
    assert rows["7001003"]["cancel_reason"] == "Patient Request -\nwill call back"
    assert rows["7001003"]["source_line"] == 7
    assert rows["7001004"]["source_line"] == 9  # the quoted newline used line 8


def test_excel_serial_appointment_time_is_read_in_the_site_zone():
    rows = read_all(FIXTURES / "epic_cadence_report.csv", preset="epic_cadence").by_appointment()
    assert rows["7001002"]["appointment_at"] == datetime(2024, 3, 5, 9, 30, tzinfo=CHI)


def test_mrn_that_lost_its_leading_zeros_gets_the_same_patient_key(tmp_path, keyer):
    """Failure catalogue: H3."""
    data = f"{EPIC_HEADER}\n1,00012345,2024-03-05 09:00,1,,\n2,12345,2024-03-06 09:00,1,,\n"
    rows = read_all(_write(tmp_path, "x.csv", data.encode()), preset="epic_cadence")
    keys = {r["patient_key"] for r in rows.by_appointment().values()}
    assert keys == {keyer.for_mrn("12345")}


def test_nul_bytes_are_dropped_and_repeated_headers_and_page_footers_skipped():
    result = read_all(FIXTURES / "generic_pm_export.csv", preset="generic")
    assert b"\x00" in FIXTURES.joinpath("generic_pm_export.csv").read_bytes()
    rows = result.by_appointment()
    assert rows["G-6"]["department"] == "Westside Ortho"  # a NUL sat inside this cell
    assert result.connector.stats.rows == 7  # G-1..G-7; header copy, page and count lines skipped


def test_stray_extra_cells_are_ignored_and_short_rows_read_as_empty_cells():
    nextgen = read_all(FIXTURES / "nextgen_appointments.tsv", preset="nextgen").by_appointment()
    assert nextgen["NG-5002"]["stage"] == "no_show"  # had two extra cells
    generic = read_all(FIXTURES / "generic_pm_export.csv", preset="generic").by_appointment()
    assert generic["G-7"]["referral_number"] is None  # the row stops after Appt Type
    assert generic["G-7"]["patient_key"] is not None


def test_unusable_rows_are_reported_with_file_line_and_reason_and_never_stop_the_file():
    result = read_all(FIXTURES / "generic_pm_export.csv", preset="generic")
    assert result.reject_lines() == {5: "UNKNOWN_STATUS", 6: "BAD_DATE", 9: "NO_MATCH_KEY"}
    first = result.rejects[0]
    assert first.source_file == "generic_pm_export.csv"
    assert first.key == "generic_pm_export.csv:5"
    assert first.message.startswith("generic_pm_export.csv line 5: ")
    assert "settings.status_map" in first.message
    assert first.field == "status"
    assert "G-7" in result.stages()  # rows after the rejects were still read


def test_rejected_messages_name_the_column_not_the_value(tmp_path):
    data = f"{EPIC_HEADER}\n1,1,31/31/2024 25:61,1,R-1,\n2,1,2024-03-05 09:00,77,R-2,\n"
    result = read_all(_write(tmp_path, "x.csv", data.encode()), preset="epic_cadence")
    messages = [e.message for e in result.rejects]
    assert "APPT_DTTM" in messages[0] and "31/31/2024" not in messages[0]
    assert "APPT_STATUS_C" in messages[1] and "77" not in messages[1].split(":", 1)[1]


def test_a_stray_quote_inside_a_cell_does_not_break_the_row(tmp_path):
    data = f'{EPIC_HEADER}\n1,1,2024-03-05 09:00,3,R-1,"Patient "called" back\n2,2,2024-03-06 09:00,2,R-2,\n'
    result = read_all(_write(tmp_path, "x.csv", data.encode()), preset="epic_cadence")
    assert result.stages() == {"1": "cancelled", "2": "completed"}


def test_an_unclosed_quote_that_swallows_the_rest_is_reported_with_its_lines(tmp_path):
    rows = "".join(f"{i},{i},2024-03-06 09:00,2,R-{i},\n" for i in range(2, 40))
    data = f'{EPIC_HEADER}\n1,1,2024-03-05 09:00,3,R-1,"Patient called\n{rows}'
    result = read_all(_write(tmp_path, "x.csv", data.encode()), preset="epic_cadence")
    assert [(e.code, e.source_line) for e in result.rejects] == [("MALFORMED_ROW", 2)]
    assert "lines 2-40" in result.rejects[0].message


def test_a_file_without_a_recognisable_header_is_one_reject(tmp_path):
    data = b"Some report\nA,B,C\n1,2,3\n"
    result = read_all(_write(tmp_path, "x.csv", data), preset="epic_cadence")
    assert [e.code for e in result.rejects] == ["NO_HEADER"]
    assert result.records == []
    assert "x.csv" in result.bookmark["files"]  # no point re-reading it until it changes


def test_cancelled_rows_may_lack_an_appointment_time_but_others_may_not(tmp_path):
    data = f"{EPIC_HEADER}\n1,1,,3,R-1,Patient request\n2,1,,1,R-2,\n"
    result = read_all(_write(tmp_path, "x.csv", data.encode()), preset="epic_cadence")
    assert result.stages() == {"1": "cancelled"}
    assert result.reject_lines() == {3: "MISSING_DATE"}


def test_empty_status_is_rejected(tmp_path):
    data = f"{EPIC_HEADER}\n1,1,2024-03-05 09:00,,R-1,\n"
    result = read_all(_write(tmp_path, "x.csv", data.encode()), preset="epic_cadence")
    assert result.reject_lines() == {2: "MISSING_STATUS"}


def test_excel_damaged_ids_are_repaired_or_dropped(tmp_path):
    data = f"{EPIC_HEADER}\n7001.0,1,2024-03-05 09:00,1,1.23457E+15,\n"
    rows = read_all(
        _write(tmp_path, "x.csv", data.encode()), preset="epic_cadence"
    ).by_appointment()
    assert rows["7001"]["referral_number"] is None  # digits lost to scientific notation


def test_semicolon_and_pipe_delimiters_are_detected():
    assert read_all(FIXTURES / "generic_pm_export.csv", preset="generic").records
    tab = read_all(FIXTURES / "nextgen_appointments.tsv", preset="nextgen")
    assert len(tab.records) == 4


def _stamped(tmp_path, rows: str):
    import os

    path = _write(tmp_path, "x.csv", f"{EPIC_HEADER}\n{rows}".encode())
    stamp = datetime(2024, 3, 4, 6, 0, tzinfo=CHI).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def test_a_booking_row_without_a_made_at_column_takes_its_appointment_time_not_the_file_time(
    tmp_path,
):
    path = _stamped(tmp_path, "1,1,2024-03-05 09:00,1,R-1,\n")
    record = read_all(path, preset="epic_cadence").records[0]
    assert record.fields["event_at"] == datetime(2024, 3, 5, 9, 0, tzinfo=CHI)
    assert record.event is not None and record.event.at == record.fields["event_at"]
    assert record.event.source == "x.csv:2" and record.event.appointment_id == "1"


def test_a_declared_snapshot_export_stamps_rows_without_a_time_with_the_file_time(tmp_path):
    path = _stamped(tmp_path, "1,1,2024-03-05 09:00,1,R-1,\n")
    record = read_all(path, preset="epic_cadence", snapshot=True).records[0]
    assert record.fields["event_at"] == datetime(2024, 3, 4, 6, 0, tzinfo=CHI)
    assert record.modified_at == record.fields["event_at"]


def test_a_connection_can_declare_which_column_is_the_event_clock(tmp_path):
    path = _stamped(tmp_path, "1,1,2024-03-05 09:00,1,R-1,\n")
    record = read_all(
        path, preset="epic_cadence", event_time_columns={"scheduled": ["made_at"]}
    ).records[0]
    assert record.fields["event_at"] == datetime(2024, 3, 4, 6, 0, tzinfo=CHI)  # none: file
