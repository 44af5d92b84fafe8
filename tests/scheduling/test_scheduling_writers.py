"""Worklist, closure and review CSVs: content, formula safety, atomic replacement."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scheduling_support import FIXTURES, make_connector

from connectors.csvfiles import csv_line, unneutralise_cell
from connectors.scheduling import MatchResult, write_review_csv
from connectors.scheduling.writers import (
    Contacts,
    neutralise_cell,
    targets_by_service_line,
    write_closure_csv,
    write_csv_atomic,
    write_worklist_csv,
)
from mapping.errors import ConfigurationError
from mapping.model import (
    Clinician,
    Partner,
    QualifiedReferralDefinition,
    Referral,
    ServiceTargets,
    StageEvent,
)

NOW = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)


def _referral(number: str, stage: str, days_ago: int, **extra) -> Referral:
    at = NOW - timedelta(days=days_ago)
    history = [StageEvent(stage=stage, entered_at=at, system="salesforce")]
    return Referral(id=f"ref_{number}", referral_number=number, stage=stage,
                    stage_history=history, **extra)  # fmt: skip


DEFINITIONS = [
    QualifiedReferralDefinition(id="card-1", service_line="cardiology", version="1",
                                targets=ServiceTargets(schedule_within_days=5,
                                                       close_loop_within_days=10)),
    QualifiedReferralDefinition(id="card-2", service_line="cardiology", version="2",
                                targets=ServiceTargets(schedule_within_days=7,
                                                       close_loop_within_days=14)),
]  # fmt: skip


def _rows(path):
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_worklist_lists_accepted_referrals_not_yet_scheduled_most_overdue_first(tmp_path):
    referrals = [
        _referral("R-1", "accepted", 3, service_line="cardiology", partner_id="par_1"),
        _referral("R-2", "accepted", 10, service_line="cardiology"),
        _referral("R-3", "scheduled", 30, service_line="cardiology"),
        _referral("R-4", "accepted", 2, service_line="dermatology"),
        _referral("R-5", "accepted", 7, service_line="cardiology", completed_at=None),
    ]
    connector = make_connector(FIXTURES, output_dir=tmp_path, preset="generic")
    connector.clock = lambda: NOW
    path = connector.write_worklist(referrals, DEFINITIONS)
    rows = _rows(path)
    assert [r["referral_number"] for r in rows] == ["R-2", "R-5", "R-1", "R-4"]
    first = {k: rows[0][k] for k in ("age_days", "target_days", "days_over", "status")}
    assert first == {"age_days": "10", "target_days": "7", "days_over": "3", "status": "overdue"}
    assert rows[1]["status"] == "due_today"
    assert rows[2]["status"] == "on_track" and rows[2]["partner_id"] == "par_1"
    assert rows[3]["status"] == "no_target" and rows[3]["target_days"] == ""


def test_closure_lists_completed_referrals_whose_loop_is_open(tmp_path):
    referrals = [
        _referral("R-1", "completed", 20, service_line="cardiology"),
        _referral("R-2", "completed", 3, service_line="cardiology"),
        _referral("R-3", "completed", 30, service_line="cardiology", loop_closed_at=NOW),
        _referral("R-4", "scheduled", 30, service_line="cardiology"),
    ]
    connector = make_connector(FIXTURES, output_dir=tmp_path, preset="generic")
    connector.clock = lambda: NOW
    rows = _rows(connector.write_closure(referrals, DEFINITIONS))
    assert [(r["referral_number"], r["days_since_completed"], r["status"]) for r in rows] == [
        ("R-1", "20", "overdue"),
        ("R-2", "3", "on_track"),
    ]


def test_the_newest_definition_version_sets_the_targets():
    assert targets_by_service_line(DEFINITIONS)["cardiology"].schedule_within_days == 7


@pytest.mark.parametrize("cell", ['=HYPERLINK("x")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_cells_a_spreadsheet_would_evaluate_are_neutralised(cell, tmp_path):
    """Failure catalogue: J2."""
    assert neutralise_cell(cell) == "'" + cell
    referral = _referral("R-9", "accepted", 1, partner_id=cell)
    path = tmp_path / "w.csv"
    write_worklist_csv(path, [referral], {}, now=NOW)
    assert _rows(path)[0]["partner_id"] == "'" + cell


def test_plain_text_and_computed_numbers_pass_unchanged():
    """Failure catalogue: J2."""
    assert neutralise_cell("R-1") == "R-1"
    assert neutralise_cell(-3) == -3


@given(st.text() | st.sampled_from(["=1", "+x", "-2", "@a", "\tx", "'=1", "'x", "''", "'"]))
def test_a_neutralised_cell_read_back_gives_the_text_it_was_written_from(text: str) -> None:
    """What the people files read back to sort a kept row (``connectors.scheduling.reage``).
    Text that already starts with ``'`` and a formula character reads back without the
    quote (the two are written alike): a referral number like that only sorts among rows
    with equal days over and age as if it had none."""
    quoted_formula = text[:1] == "'" and text[1:2] in ("=", "+", "-", "@", "\t", "\r")
    expected = text[1:] if quoted_formula else text
    assert unneutralise_cell(neutralise_cell(text)) == expected


_CELL = st.text(alphabet=st.sampled_from('ab ,"\r\n=\t-1'), max_size=5)


@given(st.lists(_CELL, min_size=1, max_size=6))
def test_a_row_joined_into_a_line_is_what_the_csv_writer_writes(cells: list[str]) -> None:
    """The people files hold rows as lines built by a join where no quoting is needed:
    byte for byte what ``csv.writer`` writes, quotes, commas and line breaks included."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    assert csv_line(cells) == buffer.getvalue()


def test_writes_replace_the_file_atomically_and_leave_no_temp_files(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("old content\n")

    def rows():
        yield {"a": "1"}
        raise RuntimeError("export interrupted")

    with pytest.raises(RuntimeError):
        write_csv_atomic(path, ["a"], rows())
    assert path.read_text() == "old content\n"
    assert os.listdir(tmp_path) == ["list.csv"]
    assert write_csv_atomic(path, ["a"], [{"a": "2"}]) == 1
    assert _rows(path) == [{"a": "2"}]
    assert os.listdir(tmp_path) == ["list.csv"]


def test_review_list_keeps_unmatched_events_without_patient_data(tmp_path):
    fields = {"source_file": "epic.csv", "source_line": 7, "appointment_id": "7001003",
              "stage": "cancelled", "patient_key": "v1:abc", "mrn": "00077001",
              "patient_name": "SMITH,ANA", "service_line": "orthopedics"}  # fmt: skip
    path = tmp_path / "review.csv"
    write_review_csv(path, [(fields, MatchResult(None, reason="no referral in window"))])
    text = path.read_text(encoding="utf-8-sig")
    row = _rows(path)[0]
    assert row["source_line"] == "7" and row["reason"] == "no referral in window"
    for secret in ("v1:abc", "00077001", "SMITH"):
        assert secret not in text


def test_writers_need_an_output_dir(tmp_path):
    connector = make_connector(FIXTURES, preset="generic")
    with pytest.raises(ConfigurationError, match="output_dir"):
        connector.write_worklist([], [])


def test_definition_versions_compare_naturally_so_v10_beats_v9():
    definitions = [
        QualifiedReferralDefinition(id=f"card-{v}", service_line="cardiology", version=v,
                                    targets=ServiceTargets(schedule_within_days=days))
        for v, days in (("v10", 10), ("v9", 9), ("v2", 2))
    ]  # fmt: skip
    assert targets_by_service_line(definitions)["cardiology"].schedule_within_days == 10


def test_service_lines_match_case_insensitively(tmp_path):
    definitions = [
        QualifiedReferralDefinition(id="card", service_line="Cardiology", version="1",
                                    targets=ServiceTargets(schedule_within_days=5))
    ]  # fmt: skip
    path = tmp_path / "w.csv"
    write_worklist_csv(path, [_referral("R-1", "accepted", 8, service_line="cardiology ")],
                       targets_by_service_line(definitions), now=NOW)  # fmt: skip
    row = _rows(path)[0]
    assert (row["target_days"], row["days_over"], row["status"]) == ("5", "3", "overdue")


def test_worklist_and_closure_name_who_to_call(tmp_path):
    contacts = Contacts(
        partners={"par_1": Partner(id="par_1", name="Northside Family Medicine",
                                   phone="+1 312 555 0100")},
        clinicians={"cli_1": Clinician(id="cli_1", first_name="Ada", last_name="Avery",
                                       npi="1234567893", partner_id="par_1")},
    )  # fmt: skip
    referrals = [
        _referral("R-1", "accepted", 3, clinician_id="cli_1", service_line="cardiology"),
        _referral("R-2", "completed", 20, partner_id="par_1", service_line="cardiology"),
    ]
    targets = targets_by_service_line(DEFINITIONS)
    work, close = tmp_path / "w.csv", tmp_path / "c.csv"
    write_worklist_csv(work, referrals, targets, now=NOW, contacts=contacts)
    write_closure_csv(close, referrals, targets, now=NOW, contacts=contacts)
    who = ("partner", "clinician", "clinician_npi", "practice_phone")
    assert {k: _rows(work)[0][k] for k in who} == {
        "partner": "Northside Family Medicine", "clinician": "Ada Avery",
        "clinician_npi": "1234567893", "practice_phone": "'+1 312 555 0100",
    }  # fmt: skip
    assert {k: _rows(close)[0][k] for k in who} == {
        "partner": "Northside Family Medicine", "clinician": "",
        "clinician_npi": "", "practice_phone": "'+1 312 555 0100",
    }  # fmt: skip


def test_the_worklist_covers_every_open_stage_with_a_target_and_says_which_sla(tmp_path):
    # Cardiology: respond within 48 hours, schedule within 7 days; Ortho has no targets
    definitions = [
        QualifiedReferralDefinition(id="card", service_line="Cardiology", version="v10",
                                    targets=ServiceTargets(respond_within_hours=48,
                                                           schedule_within_days=7)),
        QualifiedReferralDefinition(id="card-old", service_line="cardiology", version="v9",
                                    targets=ServiceTargets(respond_within_hours=1)),
    ]  # fmt: skip
    referrals = [
        _referral("R-1", "referred", 3, service_line="cardiology"),  # 72 h: 24 h over
        _referral("R-2", "intake_received", 1, service_line="CARDIOLOGY"),  # 24 h of 48: 24 left
        _referral("R-3", "accepted", 9, service_line="cardiology"),  # 9 days of 7
        _referral("R-4", "referred", 30, service_line="ortho"),  # no respond target: left out
        _referral("R-5", "scheduled", 30, service_line="cardiology"),  # no open SLA
        _referral("R-6", "contacted", 30, service_line="cardiology"),  # not referred yet
    ]
    path = tmp_path / "w.csv"
    write_worklist_csv(path, referrals, targets_by_service_line(definitions), now=NOW)
    got = [
        (r["referral_number"], r["stage"], r["sla"], r["age_hours"], r["target_hours"],
         r["age_days"], r["target_days"], r["days_over"], r["status"])
        for r in _rows(path)
    ]  # fmt: skip
    assert got == [
        ("R-3", "accepted", "schedule", "", "", "9", "7", "2", "overdue"),
        ("R-1", "referred", "respond", "72", "48", "3", "", "1.0", "overdue"),
        ("R-2", "intake_received", "respond", "24", "48", "1", "", "-1.0", "on_track"),
    ]
