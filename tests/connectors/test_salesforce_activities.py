"""The virtual object Activity: Tasks and Events read as one stream, written to the right one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sf_support import make_connector, sandbox, sf_sandbox  # noqa: F401

from connectors.sandbox import SalesforceSandbox

KEY = "Refsync_Id__c"
_LATER = datetime.now(UTC) + timedelta(days=1)  # reads end before the run's start second
FIELDS = ["Subject", "ActivityDateTime", "Outreach_Kind__c", "Account.Refsync_Id__c"]


def _seed(sb: SalesforceSandbox) -> str:
    [account] = sb.insert("Account", [{"Name": "Lakeside", KEY: "p-1"}])
    sb.insert("Task", [
        {"Subject": "Kind set", "WhatId": account, "Outreach_Kind__c": "Training",
         "ActivityDate": "2026-11-02", KEY: "o-1"},
        {"WhatId": account, "Type": "Email", "ActivityDate": "2026-11-03"},
        {"Subject": "Plain task", "ActivityDate": "2026-11-04"},
    ])  # fmt: skip
    sb.insert("Event", [
        {"Subject": "Visit", "WhatId": account, "ActivityDateTime": "2026-11-05T15:30:00Z",
         "DurationInMinutes": 30, KEY: "o-2"},
    ])  # fmt: skip
    return account


def test_tasks_then_events_are_read_with_a_time_a_kind_a_subject_and_the_account(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    _seed(sandbox)
    pages = list(make_connector(sandbox).read("Activity", since=None, fields=FIELDS, until=_LATER))
    got = [
        (r.fields["Subject"], r.fields["ActivityDateTime"][:16], r.fields["Outreach_Kind__c"],
         r.fields["Account.Refsync_Id__c"])
        for page in pages
        for r in page.records
    ]  # fmt: skip
    assert got == [
        ("Kind set", "2026-11-02T00:00", "Training", "p-1"),  # a Task's date: midnight UTC
        ("Salesforce task", "2026-11-03T00:00", "Email", "p-1"),  # Type Email
        ("Plain task", "2026-11-04T00:00", "Call", None),  # subtype Task -> Call
        ("Visit", "2026-11-05T15:30", "Visit", "p-1"),  # an Event -> Visit
    ]
    assert set(pages[-1].bookmark) == {"Task", "Event"}
    assert sandbox.stats.calls["GET queryAll"] == 2  # one query per object


def test_an_upsert_updates_the_event_that_carries_the_key_and_creates_tasks_for_the_rest(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    _seed(sandbox)
    records = [
        {
            KEY: "o-2",
            "Subject": "Visit (moved)",
            "Status": "Completed",
            "ActivityDate": "2026-11-05",
        },
        {KEY: "o-3", "Subject": "New call", "Status": "Completed", "What": {KEY: "p-1"}},
    ]
    results = make_connector(sandbox).upsert("Activity", records, key=KEY)
    assert [(r.ok, r.created) for r in results] == [(True, False), (True, True)]
    [event] = sandbox.records("Event")
    assert event["Subject"] == "Visit (moved)" and event["DurationInMinutes"] == 30
    tasks = {t.get(KEY): t for t in sandbox.records("Task")}
    assert tasks["o-3"]["Subject"] == "New call" and "o-2" not in tasks
    assert tasks["o-3"]["AccountId"] == event["AccountId"]


def test_archive_and_key_backfill_reach_tasks_and_events_alike(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    _seed(sandbox)
    connector = make_connector(sandbox)
    unkeyed = [t["Id"] for t in sandbox.records("Task") if not t.get(KEY)]
    [event_id] = [e["Id"] for e in sandbox.records("Event")]
    done = connector.backfill_keys("Activity", [(unkeyed[0], "o-4"), (event_id, "o-9")], key=KEY)
    assert all(r.ok for r in done)
    assert sandbox.records("Event")[0][KEY] == "o-9"
    results = connector.archive("Activity", ["o-1", "o-9", "o-none"], key=KEY)
    assert [bool(r.id) for r in results] == [True, True, False]
    assert sandbox.records("Event") == [] and "o-1" not in {
        t.get(KEY) for t in sandbox.records("Task")
    }
