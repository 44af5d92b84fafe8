"""Each preset's realistic export reads into the right stage events."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from scheduling_support import FIXTURES, read_all

CHI = ZoneInfo("America/Chicago")


def test_epic_cadence_status_codes_map_to_canonical_stages():
    result = read_all(FIXTURES / "epic_cadence_report.csv", preset="epic_cadence")
    assert result.stages() == {
        "7001001": "completed",  # 2 Completed
        "7001002": "no_show",  # 4 No Show
        "7001003": "cancelled",  # 3 Canceled
        "7001004": "scheduled",  # 1 Scheduled
        "7001005": "no_show",  # 5 Left without seen
        "7001006": "scheduled",  # 6 Arrived
    }
    assert result.rejects == []


def test_epic_event_time_is_when_the_status_became_true():
    rows = read_all(FIXTURES / "epic_cadence_report.csv", preset="epic_cadence").by_appointment()
    assert rows["7001001"]["event_at"] == datetime(2024, 3, 5, 10, 2, tzinfo=CHI)  # checkout
    assert rows["7001003"]["event_at"] == datetime(2024, 3, 1, 8, 5, tzinfo=CHI)  # cancel time
    assert rows["7001004"]["event_at"] == datetime(2024, 3, 4, 11, 11, tzinfo=CHI)  # made
    assert rows["7001002"]["event_at"] == rows["7001002"]["appointment_at"]  # no-show: the slot
    assert rows["7001001"]["completed_at"] == rows["7001001"]["event_at"]


def test_epic_identifiers_and_referring_npi_are_normalised():
    rows = read_all(FIXTURES / "epic_cadence_report.csv", preset="epic_cadence").by_appointment()
    assert rows["7001001"]["referral_number"] == "R-1001"
    assert rows["7001001"]["referring_npi"] == "1234567893"
    assert rows["7001004"]["referral_number"] is None
    assert rows["7001004"]["referring_npi"] is None  # 1234567898 fails the check digit
    assert rows["7001006"]["referring_npi"] == "1993999998"
    assert rows["7001001"]["department"] == "CARDIOLOGY CLINIC"
    assert rows["7001001"]["visit_type"] == "NEW PATIENT VISIT"
    assert rows["7001001"]["status_raw"] == "2"


def test_athenahealth_no_show_is_a_cancellation_with_a_no_show_reason():
    result = read_all(FIXTURES / "athenahealth_appointments.csv", preset="athenahealth")
    assert result.stages() == {
        "880101": "completed",  # 3 - Checked Out
        "880102": "no_show",  # x - Cancelled + PATIENT NO SHOW
        "880103": "cancelled",  # x - Cancelled + PATIENT REQUEST
        "880104": "scheduled",  # f - Filled
        "880106": "scheduled",  # 2 - Checked In
        "880107": "completed",  # 4 - Charge Entered
        "880108": "no_show",  # bare x + NO SHOW NO CALL
    }
    rows = result.by_appointment()
    assert rows["880102"]["cancel_reason"] == "PATIENT NO SHOW"
    assert rows["880101"]["authorization_number"] == "AUTH-55101"


def test_athenahealth_open_slots_are_skipped_not_rejected():
    result = read_all(FIXTURES / "athenahealth_appointments.csv", preset="athenahealth")
    assert "880105" not in result.stages()
    assert result.rejects == []
    assert result.connector.stats.skipped == 1


def test_athenahealth_separate_date_and_time_columns_combine_in_the_site_zone():
    rows = read_all(
        FIXTURES / "athenahealth_appointments.csv", preset="athenahealth"
    ).by_appointment()
    assert rows["880101"]["appointment_at"] == datetime(2024, 3, 4, 8, 30, tzinfo=CHI)
    assert rows["880104"]["appointment_at"].utcoffset().total_seconds() == -5 * 3600  # CDT


def test_nextgen_tab_delimited_export_reads_and_rescheduled_rows_are_skipped():
    result = read_all(FIXTURES / "nextgen_appointments.tsv", preset="nextgen")
    assert result.stages() == {
        "NG-5001": "completed",
        "NG-5002": "no_show",
        "NG-5004": "scheduled",  # the replacement of the rescheduled NG-5003
        "NG-5005": "cancelled",
    }
    assert result.rejects == []
    rows = result.by_appointment()
    assert rows["NG-5001"]["appointment_at"] == datetime(2024, 3, 5, 9, 30, tzinfo=CHI)  # 0930
    assert rows["NG-5005"]["authorization_number"] == "PA-77120"
    assert rows["NG-5005"]["referral_number"] is None


def test_generic_export_maps_everyday_status_words():
    result = read_all(FIXTURES / "generic_pm_export.csv", preset="generic")
    assert result.stages() == {
        "G-1": "completed",  # Checked Out
        "G-2": "scheduled",  # Confirmed
        "G-6": "no_show",  # Canceled with a no-show reason
        "G-7": "scheduled",
    }


def test_custom_preset_uses_the_connection_column_and_status_maps():
    result = read_all(
        FIXTURES / "custom_pipe_export.txt",
        preset="custom",
        columns={
            "appointment_id": "VisitNo",
            "mrn": "ChartNo",
            "appointment_at": "When",
            "status": "VisitState",
            "referral_number": "RefNo",
            "department": "Clinic",
        },
        status_map={"DONE": "completed", "BOOKED": "scheduled", "NOSHOW": "no_show", "HOLD": None},
        service_line_by_department={"Derm": "dermatology"},
    )
    assert result.stages() == {"V-10": "completed", "V-11": "scheduled", "V-12": "no_show"}
    rows = result.by_appointment()
    assert rows["V-10"]["appointment_at"].utcoffset().total_seconds() == -5 * 3600  # own offset
    assert rows["V-11"]["appointment_at"] == datetime(2024, 3, 5, 10, 0, tzinfo=CHI)
    assert rows["V-10"]["service_line"] == "dermatology"
    assert rows["V-10"]["source"] == "csv:custom"


def test_status_map_entries_extend_a_built_in_preset():
    result = read_all(
        FIXTURES / "generic_pm_export.csv", preset="generic", status_map={"Tentative": "scheduled"}
    )
    assert result.stages()["G-3"] == "scheduled"


def test_service_line_comes_from_the_department_map_or_the_default():
    result = read_all(
        FIXTURES / "epic_cadence_report.csv",
        preset="epic_cadence",
        service_line_by_department={"CARDIOLOGY CLINIC": "cardiology"},
        default_service_line="general",
    )
    rows = result.by_appointment()
    assert rows["7001001"]["service_line"] == "cardiology"
    assert rows["7001003"]["service_line"] == "general"


def test_athenahealth_referralauthid_is_the_referral_number_the_rows_match_on():
    result = read_all(FIXTURES / "athenahealth_appointments.csv", preset="athenahealth")
    by_appointment = result.by_appointment()
    assert by_appointment["880101"]["referral_number"] == "AUTH-55101"
    assert by_appointment["880101"]["authorization_number"] == "AUTH-55101"
    assert by_appointment["880102"]["referral_number"] == "AUTH-55102"
