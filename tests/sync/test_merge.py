"""Merging inbound values into canonical records: ownership, stages, echoes (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mapping.model import Stage
from sync.engine.merge import Ownership, changed_fields, merge_record

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
OWNERSHIP = Ownership(fields={"referral": {"service_line": "epic"}}, stage={"referral": "epic"})


def _referral(stage: str = "accepted") -> dict:
    return {
        "id": "ref_1",
        "referral_number": "REF-1",
        "stage": stage,
        "service_line": "cardiology",
        "stage_history": [{"stage": stage, "entered_at": T0.isoformat(), "system": "epic"}],
    }


def test_a_new_record_is_created_with_its_first_stage() -> None:
    result = merge_record(
        "referral",
        "ref_1",
        None,
        {"referral_number": "REF-1"},
        system="epic",
        ownership=OWNERSHIP,
        stage=Stage.SCHEDULED,
        event_at=T0,
    )
    assert result.created and result.data is not None
    assert result.data["stage"] == "scheduled"
    assert result.transition == (None, "scheduled")


def test_a_change_by_a_non_owner_is_a_conflict_and_not_applied() -> None:
    result = merge_record(
        "referral",
        "ref_1",
        _referral(),
        {"service_line": "ortho"},
        system="salesforce",
        ownership=OWNERSHIP,
        event_at=T0,
    )
    assert result.data is None
    assert [(c.field, c.owner) for c in result.conflicts] == [("service_line", "epic")]


def test_a_stage_move_by_a_non_owner_is_a_conflict_and_not_applied() -> None:
    result = merge_record(
        "referral",
        "ref_1",
        _referral(),
        {},
        system="salesforce",
        ownership=OWNERSHIP,
        stage=Stage.COMPLETED,
        event_at=T0 + timedelta(days=1),
    )
    assert result.data is None
    assert [c.field for c in result.conflicts] == ["stage"]


def test_the_owner_moves_the_stage_forward_and_history_records_it() -> None:
    at = T0 + timedelta(days=1)
    result = merge_record(
        "referral",
        "ref_1",
        _referral(),
        {},
        system="epic",
        ownership=OWNERSHIP,
        stage=Stage.SCHEDULED,
        event_at=at,
    )
    assert result.data is not None
    assert result.data["stage"] == "scheduled"
    assert result.data["stage_history"][-1]["system"] == "epic"
    assert result.transition == ("accepted", "scheduled")


def test_an_older_event_never_overrides_a_newer_stage() -> None:
    result = merge_record(
        "referral",
        "ref_1",
        _referral("scheduled"),
        {},
        system="epic",
        ownership=OWNERSHIP,
        stage=Stage.CANCELLED,
        event_at=T0 - timedelta(days=1),
    )
    assert result.data is None and not result.errors


def test_replaying_the_same_values_changes_nothing() -> None:
    current = _referral()
    result = merge_record(
        "referral",
        "ref_1",
        current,
        {"service_line": "cardiology"},
        system="epic",
        ownership=OWNERSHIP,
        stage=Stage.ACCEPTED,
        event_at=T0,
    )
    assert result.data is None and not result.changed_fields


def test_an_impossible_move_is_refused_with_a_record_error() -> None:
    result = merge_record(
        "referral",
        "ref_1",
        _referral("referred"),
        {},
        system="epic",
        ownership=OWNERSHIP,
        stage=Stage.NO_SHOW,
        event_at=T0 + timedelta(days=1),
    )
    assert result.data is None
    assert result.errors and result.errors[0].code == "STAGE_TRANSITION_REFUSED"


def test_an_invalid_record_is_a_record_error_naming_the_field_not_the_value() -> None:
    result = merge_record(
        "clinician",
        "cli_1",
        None,
        {"last_name": "Okafor", "npi": "1234567898"},
        system="salesforce",
        ownership=Ownership(),
        event_at=T0,
    )
    assert result.data is None
    assert result.errors[0].field == "npi"
    assert "1234567898" not in result.errors[0].message


def test_changed_fields_compares_in_native_space_ignoring_empty_and_attributes() -> None:
    read = {
        "Name": "A",
        "Phone": "",
        "Partner__r": {"attributes": {"type": "Account"}, "Refsync_Id__c": "p1"},
    }
    expected = {"Name": "A", "Phone": None, "Partner__r": {"Refsync_Id__c": "p1"}}
    assert changed_fields(read, expected, ["Name", "Phone", "Partner__r.Refsync_Id__c"]) == []
    assert changed_fields({**read, "Name": "B"}, expected, ["Name"]) == ["Name"]


def test_a_report_serialises_to_json_with_every_list_and_count() -> None:
    import json

    from sync.engine.report import Reject, RunReport, Transition

    report = RunReport(job="j")
    report.add("transitions", Transition("REF-1", None, "scheduled", "epic"))
    report.add("rejects", Reject("sf", "Referral__c", "ref_1", "stage", "X", "m"))
    report.count_read("epic", "referral", "read", 3)
    data = json.loads(json.dumps(report.to_json()))
    assert data["transitions"] == ["REF-1: (new) -> scheduled (from epic)"]
    assert data["read"] == {"epic/referral/read": 3}
    assert data["rejected"] == 1 and data["rejects"][0]["field"] == "stage"


def test_changed_fields_sees_a_changed_hubspot_association_flat_key() -> None:
    read = {"associations.companies": "par_2", "name": "A"}
    expected = {"associations.companies": "par_1", "name": "A"}
    assert changed_fields(read, expected, ["associations.companies", "name"]) == [
        "associations.companies"
    ]
