"""Merging inbound values into canonical records: ownership, stages, echoes (pure)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

from mapping.history import Decision
from mapping.model import ReferralEvent, Stage
from sync.engine.merge import Ownership, changed_fields, merge_record

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SCHEDULING = {s: "epic" for s in (Stage.SCHEDULED, Stage.COMPLETED, Stage.CANCELLED, Stage.NO_SHOW)}
OWNERSHIP = Ownership(fields={"referral": {"service_line": "epic"}}, stage={"referral": SCHEDULING})


def _referral(stage: str = "accepted") -> dict:
    return {
        "id": "ref_1",
        "referral_number": "REF-1",
        "stage": stage,
        "service_line": "cardiology",
        "stage_history": [{"stage": stage, "entered_at": T0.isoformat(), "system": "salesforce"}],
    }


def _event(stage: Stage, at: datetime, system: str = "epic", **kw) -> ReferralEvent:
    return ReferralEvent(
        id=f"{system}:{stage.value}:{at.isoformat()}", system=system, stage=stage, at=at, **kw
    )


def _merge(current, events, values=None, system="epic"):
    return merge_record(
        "referral",
        "ref_1",
        current,
        values or {},
        system=system,
        ownership=OWNERSHIP,
        events=events,
    )


def test_a_new_record_is_created_with_its_first_stage() -> None:
    result = _merge(None, [_event(Stage.SCHEDULED, T0)], {"referral_number": "REF-1"})
    assert result.created and result.data is not None
    assert result.data["stage"] == "scheduled"
    assert result.transition == (None, "scheduled")
    assert [e["id"] for e in result.data["events"]] == ["epic:scheduled:" + T0.isoformat()]


def test_a_change_by_a_non_owner_is_a_conflict_and_not_applied() -> None:
    result = _merge(_referral(), [], {"service_line": "ortho"}, system="salesforce")
    assert result.data is None
    assert [(c.field, c.owner) for c in result.conflicts] == [("service_line", "epic")]


def test_a_stage_owned_by_another_system_is_a_conflict_kept_in_the_log() -> None:
    result = _merge(
        _referral(), [_event(Stage.COMPLETED, T0 + timedelta(days=1), "hubspot")], system="hubspot"
    )
    assert result.data is not None and result.data["stage"] == "accepted"
    ((_, outcome),) = result.outcomes
    assert outcome.decision is Decision.CONFLICT and outcome.owner == "epic"
    assert len(result.data["events"]) == 2  # the converted history plus the conflict


def test_an_intake_move_by_the_crm_applies_because_the_scheduler_does_not_own_it() -> None:
    result = _merge(
        _referral("referred"),
        [_event(Stage.ACCEPTED, T0 + timedelta(hours=2), "salesforce")],
        system="salesforce",
    )
    assert result.data is not None and result.data["stage"] == "accepted"
    assert result.transition == ("referred", "accepted")


def test_the_owner_moves_the_stage_forward_and_history_records_it() -> None:
    at = T0 + timedelta(days=1)
    result = _merge(
        _referral(), [_event(Stage.SCHEDULED, at, appointment_at=at + timedelta(days=3))]
    )
    assert result.data is not None
    assert result.data["stage"] == "scheduled"
    assert result.data["stage_history"][-1]["system"] == "epic"
    assert result.data["appointment_at"] == (at + timedelta(days=3)).isoformat().replace(
        "+00:00", "Z"
    )
    assert result.transition == ("accepted", "scheduled")


def test_an_older_event_arriving_late_is_placed_in_time_order() -> None:
    now = _merge(_referral(), [_event(Stage.SCHEDULED, T0 + timedelta(days=2))]).data
    late = _merge(now, [_event(Stage.CANCELLED, T0 + timedelta(days=1))])
    assert late.data is not None and late.data["stage"] == "scheduled"
    assert late.newest == T0 + timedelta(days=2)
    stages = [e["stage"] for e in late.data["stage_history"]]
    assert stages == ["accepted", "cancelled", "scheduled"]


def test_replaying_the_same_events_changes_nothing() -> None:
    first = _merge(_referral(), [_event(Stage.SCHEDULED, T0 + timedelta(days=1))]).data
    again = _merge(
        first, [_event(Stage.SCHEDULED, T0 + timedelta(days=1))], {"service_line": "cardiology"}
    )
    assert again.data is None and not again.changed_fields and not again.outcomes


def test_an_impossible_move_is_refused_and_visible_not_a_record_error() -> None:
    result = _merge(_referral("referred"), [_event(Stage.NO_SHOW, T0 + timedelta(days=1))])
    assert not result.errors
    assert result.data is not None and result.data["stage"] == "referred"
    ((_, outcome),) = result.outcomes
    assert outcome.decision is Decision.REFUSED
    assert "no_show can only be reached from scheduled" in outcome.reason


def test_an_invalid_record_is_a_record_error_naming_the_field_not_the_value() -> None:
    result = merge_record(
        "clinician",
        "cli_1",
        None,
        {"last_name": "Okafor", "npi": "1234567898"},
        system="salesforce",
        ownership=Ownership(),
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


def test_changed_fields_ignores_only_the_envelope_keys_the_systems_dialect_declares() -> None:
    read = {"Partner__r": {"attributes": {"type": "Account"}, "Refsync_Id__c": "p1"}}
    expected = {"Partner__r": {"Refsync_Id__c": "p1"}}
    assert changed_fields(read, expected, ["Partner__r"], frozenset({"attributes"})) == []
    # a system without that envelope: the extra key is a difference, not noise
    assert changed_fields(read, expected, ["Partner__r"]) == ["Partner__r"]


def test_merging_a_nested_value_changes_the_result_and_leaves_the_stored_record_as_it_was() -> None:
    current = {**_referral(), "patient": {"name": "Ada Avery", "mrn": "M-1"}}
    before = copy.deepcopy(current)
    event = _event(Stage.SCHEDULED, T0 + timedelta(days=1))

    result = _merge(current, [event], {"patient.name": "Ida Avery", "service_line": "ortho"})

    assert current == before  # nothing of it changed, its nested patient neither
    assert result.data is not None
    assert (result.data["patient"]["name"], result.data["patient"]["mrn"]) == ("Ida Avery", "M-1")
    assert result.data["service_line"] == "ortho"
    assert {"events", "patient.name", "service_line"} <= set(result.changed_fields)
