"""Outreach logged natively in Salesforce: Tasks without Outreach_Kind__c and Events."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sync.conftest import Hub


def _accounts(hub: Hub) -> dict[str, dict[str, object]]:
    return {a["Name"]: a for a in hub.sf.records("Account")}


def _log_natively(hub: Hub) -> None:
    """A liaison's own activities: a call Task on an account, a calendar visit Event on an
    account, and a Task on a contact only (Salesforce derives its AccountId)."""
    from sync.demo import seed_crm

    seed_crm(hub.sf, hub.hs)
    accounts = _accounts(hub)
    lakeside = accounts["Lakeside Family Practice"]["Id"]
    riverbend = accounts["Riverbend Cardiology Associates"]["Id"]
    contact = next(c for c in hub.sf.records("Contact") if c["AccountId"] == riverbend)
    client = hub.sf.make_client()
    visit_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    client.Task.create({"Subject": "Called the office manager", "WhatId": lakeside,
                        "TaskSubtype": "Call", "ActivityDate": "2026-11-30"})  # fmt: skip
    client.Event.create({"Subject": "Practice visit", "WhatId": riverbend, "Type": "Meeting",
                         "ActivityDateTime": visit_at.isoformat(), "DurationInMinutes": 45})  # fmt: skip
    client.Task.create({"WhoId": contact["Id"], "Type": "Email", "ActivityDate": "2026-12-01"})


def test_salesforce_derives_an_activitys_account_and_an_events_times_as_the_api_does(
    hub: Hub,
) -> None:
    _log_natively(hub)
    riverbend = _accounts(hub)["Riverbend Cardiology Associates"]["Id"]
    [event] = hub.sf.records("Event")
    assert event["AccountId"] == riverbend and event["EventSubtype"] == "Event"
    assert event["DurationInMinutes"] == 45 and event["IsAllDayEvent"] is False
    start = datetime.fromisoformat(event["ActivityDateTime"].replace("+0000", "+00:00"))
    end = datetime.fromisoformat(event["EndDateTime"].replace("+0000", "+00:00"))
    assert end - start == timedelta(minutes=45) and event["ActivityDate"] == str(start.date())
    by_subject = {t.get("Subject"): t for t in hub.sf.records("Task")}
    assert by_subject[None]["AccountId"] == riverbend  # through the contact
    assert by_subject["Called the office manager"]["TaskSubtype"] == "Call"
    with pytest.raises(SalesforceMalformedRequest, match="DurationInMinutes"):
        hub.sf.make_client().Event.create(
            {"Subject": "No length", "ActivityDateTime": start.isoformat()}
        )


def test_tasks_and_events_logged_in_salesforce_reach_hubspot_with_default_kinds_and_partners(
    hub: Hub,
) -> None:
    _log_natively(hub)
    time.sleep(1.1)
    report = hub.run("partners-to-hubspot")
    assert report.status == "ok" and not report.rejects, report.rejects
    assert report.read["salesforce/outreach/read"] == 3
    companies = {c["id"]: c["properties"]["name"] for c in hub.hs.records("companies")}
    seen = {}
    for kind in ("meetings", "calls", "notes"):
        for rec in hub.hs.records(kind):
            props = rec["properties"]
            title = props.get("hs_meeting_title") or props.get("hs_call_title") or "note"
            linked = hub.hs.associations(kind, rec["id"], "companies")
            seen[title] = (kind, props["refsync_outreach_kind"], [companies[c] for c in linked])
    assert seen == {
        "Called the office manager": ("calls", "call", ["Lakeside Family Practice"]),
        "Practice visit": ("meetings", "visit", ["Riverbend Cardiology Associates"]),
        "note": ("notes", "email", ["Riverbend Cardiology Associates"]),
    }
    # refsync wrote its ids back onto the Task and the Event; nothing changed, nothing moves
    assert all(a.get("Refsync_Id__c") for a in hub.sf.records("Event"))
    assert all(t.get("Refsync_Id__c") for t in hub.sf.records("Task"))
    time.sleep(1.1)
    again = hub.run("partners-to-hubspot")
    moved = {k: n for k, n in again.written.items() if not k.endswith("/unchanged")}
    assert not any(moved.values()), moved
    assert again.written["hubspot/outreach/unchanged"] == 3
