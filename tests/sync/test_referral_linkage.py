"""Every referral tied to who sent it, in both CRMs (issue 12).

Salesforce holds the practices and their clinicians (with NPIs); the scheduling export names
the referring NPI. The referral must come out with its Partner__c / Clinician__c lookups in
Salesforce and its company / contact associations in HubSpot, follow a change of referrer,
and wait (listed, not guessed) for a clinician nobody knows yet.
"""

from __future__ import annotations

import csv
import os
import time
from datetime import datetime

from sync.demo import _CLINICIANS, seed_crm
from tests.sync.conftest import Hub

HEADER = ["PAT_ENC_CSN_ID", "PAT_MRN_ID", "APPT_DTTM", "APPT_STATUS_C", "APPT_MADE_DTTM",
          "REFERRAL_ID", "REFERRING_PROV_NPI", "DEPARTMENT_NAME"]  # fmt: skip
UNKNOWN_NPI = "1234567893"  # a valid NPI no connected system has


def _export(hub: Hub, name: str, rows: list[tuple[str, str, str]]) -> None:
    path = hub.root / "exports" / "epic" / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for csn, number, npi in rows:
            out.writerow([csn, "00012345", "03/05/2026 9:30 AM", "1", "03/01/2026 8:00 AM",
                          number, npi, "CARDIOLOGY CLINIC"])  # fmt: skip
    past = datetime.now().timestamp() - 5
    os.utime(path, (past, past))


def _seed(hub: Hub) -> None:
    seed_crm(hub.sf, hub.hs)
    # a read's window ends at the run's start second (open): what was created in this very
    # second is read by the next run, so let the second pass
    time.sleep(1.1)


def _sf_referral(hub: Hub, number: str) -> dict:
    return next(r for r in hub.sf.records("Referral__c") if r["Referral_Number__c"] == number)


def _sf_contact_id(hub: Hub, npi: str) -> str:
    return next(r["Id"] for r in hub.sf.records("Contact") if r["NPI__c"] == npi)


def _deal_links(hub: Hub, number: str) -> tuple[list[str], list[str]]:
    deal = next(
        d for d in hub.hs.records("deals")
        if d["properties"]["refsync_referral_number"] == number
    )  # fmt: skip
    companies = hub.hs.associations("deals", deal["id"], "companies")
    contacts = hub.hs.associations("deals", deal["id"], "contacts")
    return companies, contacts


def _hs_contact_id(hub: Hub, npi: str) -> str:
    return next(c["id"] for c in hub.hs.records("contacts")
                if c["properties"].get("refsync_npi") == npi)  # fmt: skip


def test_a_referral_is_linked_to_its_clinician_and_practice_in_both_crms_and_relinked(
    hub: Hub,
) -> None:
    _seed(hub)
    assert hub.run("partners-to-hubspot").exit_code() == 0
    first, second = _CLINICIANS[0], _CLINICIANS[1]
    _export(hub, "a.csv", [("1", "REF-7001", first[2]), ("2", "REF-7002", UNKNOWN_NPI)])
    report = hub.run("scheduling-to-crm")
    assert report.exit_code() == 0, report.to_json()
    ref = _sf_referral(hub, "REF-7001")
    contact = next(r for r in hub.sf.records("Contact") if r["Id"] == _sf_contact_id(hub, first[2]))
    assert ref["Clinician__c"] == contact["Id"]
    assert ref["Partner__c"] == contact["AccountId"]
    companies, contacts = _deal_links(hub, "REF-7001")
    assert len(companies) == 1 and contacts == [_hs_contact_id(hub, first[2])]
    # the referrer nobody knows is listed, not guessed
    assert _sf_referral(hub, "REF-7002").get("Clinician__c") is None
    assert report.totals["unresolved"] == 1
    assert report.unresolved == [f"REF-7002: referring NPI {UNKNOWN_NPI} matches no clinician yet"]

    # the export corrects the referrer: the referral follows to the other practice
    _export(hub, "b.csv", [("1", "REF-7001", second[2])])
    hub.run("scheduling-to-crm")
    moved = _sf_referral(hub, "REF-7001")
    other = next(r for r in hub.sf.records("Contact") if r["NPI__c"] == second[2])
    assert (moved["Clinician__c"], moved["Partner__c"]) == (other["Id"], other["AccountId"])
    companies, contacts = _deal_links(hub, "REF-7001")
    assert len(companies) == 1 and contacts == [_hs_contact_id(hub, second[2])]

    # an unchanged run writes nothing
    hub.sf.stats.reset()
    hub.hs.stats.reset()
    hub.run("scheduling-to-crm")
    assert hub.write_write_calls() == 0


def test_a_referral_read_before_its_clinician_is_linked_when_the_clinician_arrives(
    hub: Hub,
) -> None:
    npi = _CLINICIANS[2][2]
    _export(hub, "a.csv", [("1", "REF-7101", npi)])
    first = hub.run("scheduling-to-crm")
    assert first.totals["unresolved"] == 1
    _seed(hub)
    clinicians = hub.run("partners-to-hubspot")  # brings the clinician: re-resolution
    assert clinicians.read.get("hub/referral/linked to referrer") == 1
    hub.run("scheduling-to-crm")  # sends the linked referral
    ref = _sf_referral(hub, "REF-7101")
    assert ref["Clinician__c"] == _sf_contact_id(hub, npi)


def test_a_referral_whose_clinician_had_no_practice_gets_the_practice_the_clinician_joins(
    hub: Hub,
) -> None:
    npi = "1245319599"
    [contact] = hub.sf.insert("Contact", [{"LastName": "Zimmer", "NPI__c": npi}])
    _seed(hub)
    hub.run("partners-to-hubspot")
    _export(hub, "a.csv", [("1", "REF-7201", npi)])
    hub.run("scheduling-to-crm")
    ref = _sf_referral(hub, "REF-7201")
    assert (ref["Clinician__c"], ref.get("Partner__c")) == (contact, None)
    account = hub.sf.records("Account")[0]["Id"]
    hub.sf.make_client().Contact.update(contact, {"AccountId": account})
    time.sleep(1.1)
    joined = hub.run("partners-to-hubspot")
    assert joined.read.get("hub/referral/linked to referrer") == 1
    hub.run("scheduling-to-crm")
    assert _sf_referral(hub, "REF-7201")["Partner__c"] == account
    companies, _ = _deal_links(hub, "REF-7201")
    assert len(companies) == 1


def test_a_referral_tied_to_a_clinician_without_an_npi_takes_the_clinicians_practice():
    from sync.engine.derive_pass import _with_practice

    staff = {"cli_1": "par_9"}
    linked = {"id": "r1", "clinician_id": "cli_1", "partner_id": None}
    assert _with_practice(linked, staff)["partner_id"] == "par_9"
    placed = {**linked, "partner_id": "par_2"}  # a practice already named is kept
    assert _with_practice(placed, staff) is placed
    assert _with_practice({**linked, "clinician_id": "cli_2"}, staff)["partner_id"] is None
