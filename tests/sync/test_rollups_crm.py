"""Partner rollups reach Salesforce Accounts and HubSpot companies through the mappings and the
write ledger in the run that changes the referrals: the default scheduling-to-crm job carries
the partners whose rollups it changed to both CRMs. Salesforce owns its Accounts' names and
addresses, so an Account it already holds gets the rollups only, never its own fields back
(a user's edit refsync has not read yet is not overwritten). An unchanged run writes nothing,
and a referral that moves to another practice rewrites those two partners only."""

from __future__ import annotations

import csv
import os
import time
from datetime import datetime, timedelta

from sync.demo import _CLINICIANS, seed_crm
from tests.sync.conftest import Hub

HEADER = ["PAT_ENC_CSN_ID", "PAT_MRN_ID", "APPT_DTTM", "APPT_STATUS_C", "APPT_MADE_DTTM",
          "REFERRAL_ID", "REFERRING_PROV_NPI", "DEPARTMENT_NAME"]  # fmt: skip
_STAMP = "%m/%d/%Y %I:%M %p"


def _export(hub: Hub, name: str, rows: list[tuple[str, str, str]]) -> None:
    made = (datetime.now() - timedelta(days=5)).strftime(_STAMP)
    appointment = (datetime.now() + timedelta(days=3)).strftime(_STAMP)
    path = hub.root / "exports" / "epic" / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for csn, number, npi in rows:
            out.writerow([csn, "00012345", appointment, "1", made, number, npi,
                          "CARDIOLOGY CLINIC"])  # fmt: skip
    past = datetime.now().timestamp() - 5
    os.utime(path, (past, past))


def _accounts(hub: Hub) -> dict[str, dict]:
    return {a["Name"]: a for a in hub.sf.records("Account")}


def _companies(hub: Hub) -> dict[str, dict]:
    return {c["properties"]["name"]: c["properties"] for c in hub.hs.records("companies")}


_JOBS = ("scheduling-to-crm", "partners-to-hubspot")


def _practice_of(hub: Hub, npi: str) -> str:
    contact = next(c for c in hub.sf.records("Contact") if c["NPI__c"] == npi)
    return next(a["Name"] for a in hub.sf.records("Account") if a["Id"] == contact["AccountId"])


def test_rollups_reach_accounts_and_companies_and_only_changed_partners_are_rewritten(
    hub: Hub,
) -> None:
    seed_crm(hub.sf, hub.hs)
    time.sleep(1.1)
    assert hub.run("partners-to-hubspot").exit_code() == 0
    first, second = _CLINICIANS[0][2], _CLINICIANS[1][2]
    home, other = _practice_of(hub, first), _practice_of(hub, second)
    assert home != other
    # A user renames the practice in Salesforce; refsync has not read it yet.
    home_id = _accounts(hub)[home]["Id"]
    hub.sf.make_client().Account.update(home_id, {"Name": "Renamed By A User"})
    _export(hub, "a.csv", [("1", "REF-8001", first), ("2", "REF-8002", first)])
    report = hub.run("scheduling-to-crm")
    assert report.exit_code() == 0, report.to_json()
    assert report.read["hub/partner/rollups changed"] == 1
    accounts, companies = _accounts(hub), _companies(hub)
    assert "Renamed By A User" in accounts  # Salesforce's own field was not sent back
    renamed = accounts["Renamed By A User"]
    assert renamed["Referrals_Total__c"] == 2 and renamed["Referrals_Recent__c"] == 2
    assert renamed["Derived_Status__c"] == "Active"
    assert accounts[other]["Referrals_Total__c"] == 0
    assert companies[home]["refsync_referrals_total"] == "2"
    assert companies[home]["refsync_derived_status"] == "active"
    assert companies[home]["refsync_referral_trend"] == "new"
    # rollups are aggregates: no referral number or patient value on an Account or company
    for text in (repr(accounts), repr(companies)):
        assert "REF-8001" not in text and "00012345" not in text

    time.sleep(1.1)
    assert hub.run("partners-to-hubspot").exit_code() == 0  # reads the rename, sends it on
    assert _companies(hub)["Renamed By A User"]["refsync_referrals_total"] == "2"
    time.sleep(1.1)
    hub.sf.stats.reset()
    hub.hs.stats.reset()
    quiet = [hub.run(job) for job in _JOBS]
    assert hub.write_write_calls() == 0, [r.written for r in quiet]

    _export(hub, "b.csv", [("1", "REF-8001", second)])
    moved = hub.run("scheduling-to-crm")
    assert moved.read["hub/partner/rollups recomputed"] == 2
    accounts, companies = _accounts(hub), _companies(hub)
    home = "Renamed By A User"
    assert (accounts[home]["Referrals_Total__c"], accounts[other]["Referrals_Total__c"]) == (1, 1)
    assert companies[other]["refsync_referrals_total"] == "1"
    assert companies[home]["refsync_referrals_total"] == "1"
    assert moved.written["hubspot/partner/updated"] == 2
    assert moved.written["salesforce/partner/updated"] == 2
