"""Date/time parsing of export cells, and patient keys (HMAC of the normalised MRN)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from connectors.scheduling import PatientKeyer, normalise_mrn
from connectors.scheduling.dates import parse_date, parse_datetime, parse_datetime_parts
from mapping.errors import SecretError

CHI = "America/Chicago"
NINE_THIRTY = datetime(2024, 3, 5, 9, 30, tzinfo=ZoneInfo(CHI))


@pytest.mark.parametrize(
    "cell",
    [
        "03/05/2024 9:30 AM",
        "3/5/2024 09:30",
        "03/05/24 9:30 AM",
        "3/5/24 9:30am",
        "2024-03-05 09:30:00",
        "2024-03-05T09:30:00",
        "2024-03-05T15:30:00Z",
        "2024-03-05T09:30:00-06:00",
        "05-MAR-2024 09:30",
        "45356.395833",
    ],
)
def test_us_iso_oracle_and_excel_forms_read_as_the_same_instant(cell):
    assert parse_datetime(cell, CHI) == NINE_THIRTY


def test_an_explicit_offset_is_kept_and_no_offset_means_site_local():
    """Failure catalogue: I3."""
    assert parse_datetime("2024-03-05T09:30:00-05:00", CHI).utcoffset() == timedelta(hours=-5)
    assert parse_datetime("2024-07-05 09:30", CHI).utcoffset() == timedelta(hours=-5)  # CDT
    assert parse_datetime("2024-01-05 09:30", CHI).utcoffset() == timedelta(hours=-6)  # CST


def test_a_wall_time_in_the_spring_forward_gap_becomes_a_real_instant():
    """Failure catalogue: I3."""
    when = parse_datetime("2024-03-10 02:30:00", CHI)
    assert when.isoformat() == "2024-03-10T03:30:00-05:00"


def test_a_repeated_fall_back_hour_reads_as_its_first_occurrence():
    when = parse_datetime("2024-11-03 01:30:00", CHI)
    assert when.utcoffset() == timedelta(hours=-5)


def test_date_and_time_columns_combine_including_military_and_excel_fractions():
    for clock in ("09:30 AM", "0930", "930", "0.3958333"):
        assert parse_datetime_parts("03/05/2024", clock, CHI) == NINE_THIRTY
    assert parse_datetime_parts("2024-03-05", "", CHI) == datetime(2024, 3, 5, tzinfo=ZoneInfo(CHI))


@pytest.mark.parametrize("cell", ["not a date", "31/31/2024", "12345", "2024-13-40"])
def test_unreadable_cells_raise_without_echoing_the_value(cell):
    with pytest.raises(ValueError) as info:
        parse_datetime(cell, CHI)
    assert cell not in str(info.value)


def test_birth_dates_parse_as_calendar_dates():
    """Failure catalogue: I2."""
    assert parse_date("04/02/1961") == date(1961, 4, 2)
    assert parse_date("1961-04-02") == date(1961, 4, 2)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("00012345", "12345"),
        ("12345", "12345"),
        (" 12-345 ", "12345"),
        ("12345.0", "12345"),
        ("1.2345E+4", "12345"),
        ("e00123", "E00123"),
        ("0000", "0"),
        ("", None),
        ("--", None),
    ],
)
def test_mrn_normalisation_is_one_frozen_rule(raw, normal):
    assert normalise_mrn(raw) == normal


def test_patient_key_is_a_versioned_hmac_that_depends_on_the_key(keyer):
    token = keyer.for_mrn("00012345")
    assert token.startswith("v1:") and len(token) == 3 + 64
    assert token == keyer.for_mrn("12345")
    other = PatientKeyer(b"another-secret-key-of-enough-length")
    assert other.for_mrn("12345") != token
    assert (
        PatientKeyer(b"test-patient-key-0123456789abcdef", namespace="east").for_mrn("12345")
        != token
    )


def test_missing_key_is_a_configuration_error_naming_the_variable():
    with pytest.raises(SecretError) as info:
        PatientKeyer.from_env("SITE_PATIENT_KEY", environ={})
    assert "SITE_PATIENT_KEY" in str(info.value)
    assert info.value.exit_code == 2


def test_a_short_key_is_refused_and_the_key_never_shows_in_repr():
    with pytest.raises(SecretError) as info:
        PatientKeyer.from_env("K", environ={"K": "short"})
    assert "short" not in str(info.value).replace("at least", "")
    keyer = PatientKeyer.from_env("K", environ={"K": "a-long-enough-secret-value"})
    assert "a-long-enough-secret-value" not in repr(keyer)
