"""End to end through the real clients and the sandboxes (DESIGN.md, hub and spoke)."""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mapping.errors import LockHeld
from sync.state import StateStore
from tests.sync.conftest import Hub, deal_stages, sf_stages

HEADER = [
    "PAT_ENC_CSN_ID",
    "PAT_MRN_ID",
    "PAT_NAME",
    "BIRTH_DATE",
    "APPT_DTTM",
    "APPT_MADE_DTTM",
    "APPT_STATUS_C",
    "APPT_STATUS_NAME",
    "APPT_CANC_DTTM",
    "CANCEL_REASON_NAME",
    "CHECKIN_DTTM",
    "CHECKOUT_DTTM",
    "DEPARTMENT_NAME",
    "PRC_NAME",
    "REFERRAL_ID",
    "REFERRING_PROV_NPI",
]


def write_export(hub: Hub, name: str, rows: list[tuple[str, str, str, str]]) -> Path:
    """rows: (appointment id, referral number, status code, appointment time)."""
    names = {"1": "Scheduled", "2": "Completed", "3": "Canceled", "4": "No Show", "6": "Arrived"}
    path = hub.root / "exports" / "epic" / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for appt_id, ref, status, when in rows:
            out.writerow(
                [
                    appt_id,
                    "00012345",
                    "CANARY,PATIENT",
                    "02/28/1931",
                    when,
                    "03/01/2024 8:00 AM",
                    status,
                    names[status],
                    when if status == "3" else "",
                    "",
                    when if status == "2" else "",
                    when if status == "2" else "",
                    "CARDIOLOGY CLINIC",
                    "NEW PATIENT VISIT",
                    ref,
                    "1234567893",
                ]
            )
    return path


def test_a_scheduling_export_updates_referral_stages_in_salesforce_and_hubspot(hub: Hub) -> None:
    write_export(
        hub,
        "a.csv",
        [("1", "REF-1", "1", "03/05/2024 9:30 AM"), ("2", "REF-2", "2", "03/06/2024 9:30 AM")],
    )
    report = hub.run("scheduling-to-crm")
    assert report.status == "ok", report.rejects
    assert sf_stages(hub.sf) == {"REF-1": "Scheduled", "REF-2": "Completed"}
    assert deal_stages(hub.hs) == {"REF-1": "Scheduled", "REF-2": "Completed"}

    write_export(hub, "b.csv", [("1", "REF-1", "2", "03/05/2024 9:30 AM")])
    hub.run("scheduling-to-crm")
    assert sf_stages(hub.sf)["REF-1"] == "Completed"
    assert deal_stages(hub.hs)["REF-1"] == "Completed"


def test_the_second_run_with_no_source_changes_makes_zero_write_calls(hub: Hub) -> None:
    """Failure catalogue: E3."""
    write_export(hub, "a.csv", [(str(i), f"REF-{i}", "1", "03/05/2024 9:30 AM") for i in range(30)])
    first = hub.run("scheduling-to-crm")
    assert first.written["salesforce/referral/created"] == 30
    before = hub.write_write_calls()
    second = hub.run("scheduling-to-crm")
    assert hub.write_write_calls() == before
    assert sum(second.written.values()) == 0 or set(second.written) <= {
        k for k in second.written if k.endswith("/unchanged")
    }


def test_plan_shows_the_stage_moves_and_writes_nothing(hub: Hub) -> None:
    write_export(hub, "a.csv", [("1", "REF-1042", "1", "03/05/2024 9:30 AM")])
    plan = hub.plan("scheduling-to-crm")
    assert [t.describe() for t in plan.transitions] == ["REF-1042: (new) -> scheduled (from epic)"]
    assert plan.written["salesforce/referral/created"] == 1
    assert hub.write_write_calls() == 0
    assert hub.sf.records("Referral__c") == []
    # the plan kept nothing: the real run still finds everything to do
    assert hub.run("scheduling-to-crm").written["salesforce/referral/created"] == 1


def test_an_admin_stage_edit_in_salesforce_owned_by_scheduling_is_a_conflict(hub: Hub) -> None:
    """Failure catalogue: E3."""
    hub.edit_config(
        lambda d: d["jobs"].__setitem__(
            "salesforce-to-hub",
            {"sources": ["salesforce"], "destinations": ["hubspot"], "entities": ["referral"]},
        )
    )
    write_export(hub, "a.csv", [("1", "REF-7", "1", "03/05/2024 9:30 AM")])
    hub.run("scheduling-to-crm")
    time.sleep(1.1)  # reads end at the run's start second (open); the edit lands after it
    ref = next(r for r in hub.sf.records("Referral__c"))
    hub.sf.make_client().Referral__c.update(ref["Id"], {"Stage__c": "Completed"})
    time.sleep(1.1)
    report = hub.run("salesforce-to-hub")
    assert report.totals["conflicts"] == 1
    assert report.conflicts[0].startswith("REF-7: completed from salesforce conflict")
    assert "epic owns that stage" in report.conflicts[0]
    assert deal_stages(hub.hs)["REF-7"] == "Scheduled"
    store = StateStore.open(hub.state_url)
    conflicts = store.list_conflicts()
    store.close()
    assert [(c.field, c.proposing_system, c.owner) for c in conflicts] == [
        ("stage", "salesforce", "epic")
    ]


def test_a_definition_edited_in_yaml_reaches_both_crms(hub: Hub) -> None:
    path = hub.root / "definitions" / "cardiology-v1.yaml"
    hub.edit_config(
        lambda d: d["jobs"]["scheduling-to-crm"].__setitem__("entities", ["definition", "referral"])
    )
    hub.run("scheduling-to-crm")
    before = {r["Refsync_Id__c"]: r for r in hub.sf.records("Referral_Definition__c")}
    assert before, "the job's definitions reach Salesforce"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("schedule_within_days: 7", "schedule_within_days: 5"), encoding="utf-8"
    )
    assert "schedule_within_days: 5" in path.read_text(encoding="utf-8")
    hub.run("scheduling-to-crm")
    after = [
        r
        for r in hub.sf.records("Referral_Definition__c")
        if r.get("Service_Line__c") == "cardiology"
    ]
    assert [r["Schedule_Within_Days__c"] for r in after] == [5]
    props = [
        d["properties"]
        for d in hub.hs.records("p_referral_definitions")
        if d["properties"].get("service_line") == "cardiology"
    ]
    assert [p["schedule_within_days"] for p in props] == ["5"]


def test_a_live_lock_makes_a_second_run_fail_naming_the_holder(hub: Hub) -> None:
    store = StateStore.open(hub.state_url)
    run_id = store.start_run("scheduling-to-crm", host="elsewhere", pid=1)
    store.acquire_lock("scheduling-to-crm", run_id=run_id, ttl_seconds=600, host="elsewhere", pid=1)
    store.close()
    with pytest.raises(LockHeld) as caught:
        hub.run("scheduling-to-crm")
    assert "elsewhere" in str(caught.value)
    assert caught.value.exit_code == 4


def test_a_row_without_a_referral_number_matches_by_patient_and_the_rest_is_listed_for_review(
    hub: Hub,
) -> None:
    write_export(hub, "a.csv", [("1", "REF-9", "1", "03/05/2024 9:30 AM")])
    hub.run("scheduling-to-crm")
    # the same patient (MRN 00012345 in write_export), no referral number: completed visit
    write_export(hub, "b.csv", [("2", "", "2", "03/05/2024 9:30 AM")])
    other = write_export(hub, "c.csv", [("3", "", "2", "03/05/2024 9:30 AM")])
    other.write_text(
        other.read_text(encoding="utf-8").replace("00012345", "00099999"), encoding="utf-8"
    )
    report = hub.run("scheduling-to-crm")
    assert sf_stages(hub.sf)["REF-9"] == "Completed"
    assert [r.code for r in report.rejects] == ["UNMATCHED"]  # the other patient's row
    review = (hub.root / "outputs" / "unmatched-appointments.csv").read_text(encoding="utf-8")
    assert "c.csv" in review
    assert "00099999" not in review and "CANARY" not in review
    assert (hub.root / "outputs" / "scheduling-worklist.csv").exists()
    assert (hub.root / "outputs" / "closure.csv").read_text(encoding="utf-8").count("REF-9") == 1


def test_an_outreach_meeting_logged_in_hubspot_reaches_salesforce_as_a_task_for_the_same_account(
    hub: Hub,
) -> None:
    from sync.demo import seed_crm, seed_meeting

    hub.edit_config(
        lambda d: d["jobs"].__setitem__(
            "outreach-to-salesforce",
            {"sources": ["hubspot"], "destinations": ["salesforce"], "entities": ["outreach"]},
        )
    )
    seed_crm(hub.sf, hub.hs)
    time.sleep(1.1)
    assert hub.run("partners-to-hubspot").status == "ok"
    # refsync wrote its ids back onto the accounts it read (no duplicate on a later upsert)
    accounts = hub.sf.records("Account")
    assert len(accounts) == 3 and all(a.get("Refsync_Id__c") for a in accounts)
    seed_meeting(hub.hs, "Lakeside Family Practice")
    time.sleep(1.1)
    report = hub.run("outreach-to-salesforce")
    assert report.status == "ok", report.rejects
    lakeside = next(a for a in accounts if a["Name"] == "Lakeside Family Practice")
    tasks = hub.sf.records("Task")
    assert [(t["Subject"], t["WhatId"]) for t in tasks] == [
        ("Lunch and learn: cardiology referrals", lakeside["Id"])
    ]
    time.sleep(1.1)
    again = hub.run("partners-to-hubspot")
    # only Lakeside's rollup moved (its last outreach); the meeting is the same record
    assert again.written["hubspot/partner/updated"] == 1
    assert len(hub.sf.records("Account")) == 3 and len(hub.hs.records("companies")) == 3
    assert len(hub.hs.records("meetings")) == 1


def test_a_record_deleted_in_the_source_is_archived_in_a_mirror_destination_only(hub: Hub) -> None:
    from sync.demo import seed_crm

    hub.edit_config(lambda d: d["jobs"]["partners-to-hubspot"].__setitem__("mode", "mirror"))
    seed_crm(hub.sf, hub.hs)
    time.sleep(1.1)
    hub.run("partners-to-hubspot")
    assert len(hub.hs.records("companies")) == 3
    doomed = next(a for a in hub.sf.records("Account") if a["Name"].startswith("Northside"))
    hub.sf.make_client().Account.delete(doomed["Id"])
    time.sleep(1.1)
    report = hub.run("partners-to-hubspot")
    assert report.read["salesforce/partner/deleted"] == 1
    assert report.written["hubspot/partner/archived"] == 1
    names = sorted(c["properties"]["name"] for c in hub.hs.records("companies"))
    assert names == ["Lakeside Family Practice", "Riverbend Cardiology Associates"]
    assert [c["properties"]["name"] for c in hub.hs.records("companies", archived=True)] == [
        "Northside Community Health Center"
    ]


def test_a_meeting_and_a_note_logged_natively_in_hubspot_reach_salesforce_with_default_kinds(
    hub: Hub,
) -> None:
    # a liaison's own HubSpot meeting and note carry no refsync_outreach_kind and a note has
    # no title: they are read (not rejected) with the default kind of their type
    from hubspot.crm.objects.meetings import (
        SimplePublicObjectInputForCreate as MeetingInput,
    )
    from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate as NoteInput

    from sync.demo import seed_crm

    hub.edit_config(
        lambda d: d["jobs"].__setitem__(
            "outreach-to-salesforce",
            {"sources": ["hubspot"], "destinations": ["salesforce"], "entities": ["outreach"]},
        )
    )
    seed_crm(hub.sf, hub.hs)
    time.sleep(1.1)
    hub.run("partners-to-hubspot")
    company = next(
        c for c in hub.hs.records("companies") if c["properties"]["name"].startswith("Lake")
    )
    link = [{"to": {"id": company["id"]},
             "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 188}]}]  # fmt: skip
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    client = hub.hs.make_client()
    client.crm.objects.meetings.basic_api.create(MeetingInput(
        properties={"hs_timestamp": when, "hs_meeting_title": "Drop-in visit"}, associations=link
    ))  # fmt: skip
    link[0]["types"][0]["associationTypeId"] = 190  # note -> company
    client.crm.objects.notes.basic_api.create(NoteInput(
        properties={"hs_timestamp": when, "hs_note_body": "Left the new referral form."},
        associations=link,
    ))  # fmt: skip
    time.sleep(1.1)
    report = hub.run("outreach-to-salesforce")
    assert report.status == "ok" and not report.rejects, report.rejects
    kinds = sorted((t["Subject"], t["Outreach_Kind__c"]) for t in hub.sf.records("Task"))
    assert kinds == [("Drop-in visit", "Visit"), ("HubSpot note", "Email")]
