"""Referrers nobody knows become prospects in the CRM when the program asks (issue 12).

The export names a referring NPI no connected system has. With
``referrers.create_prospects`` the hub creates a prospect clinician (name parsed from the
export, the NPI's own id); the partners job writes it to HubSpot flagged
``refsync_prospect``; referrals are not linked to it. When Salesforce supplies the clinician
(a new Contact with that NPI, or an existing one given it), the same HubSpot contact becomes
the real clinician and the waiting referrals are linked in both CRMs.
"""

from __future__ import annotations

import csv
import os
import time
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from sync.cli import app
from sync.demo import seed_crm
from sync.engine.ids import canonical_id
from sync.engine.prospects import prospect_record, provider_name, provider_role
from tests.sync.conftest import Hub

HEADER = ["PAT_ENC_CSN_ID", "PAT_MRN_ID", "APPT_DTTM", "APPT_STATUS_C", "APPT_MADE_DTTM",
          "REFERRAL_ID", "REFERRING_PROV_NPI", "REFERRING_PROV_NAME", "DEPARTMENT_NAME"]  # fmt: skip
ZIMMER = "1245319599"  # valid check digits; no connected system has either NPI
ONCE = "1003000126"


def test_provider_names_are_parsed_as_exports_write_them():
    assert provider_name("ZIMMER, CARLA J MD") == ("Carla J", "Zimmer")
    assert provider_name("Dr. Ben Brook") == ("Ben", "Brook")
    assert provider_name("O'NEIL, MARY-KATE NP") == ("Mary-Kate", "O'Neil")
    assert provider_name("BROOK") == (None, "Brook")
    assert provider_name("  ") == (None, "Unknown referrer")
    assert provider_name(None) == (None, "Unknown referrer")


def test_a_credential_after_the_name_is_dropped_and_says_the_role_while_do_as_a_surname_stays():
    assert provider_name("PATEL, RAJ DO") == ("Raj", "Patel")
    assert provider_name("DO, MINH") == ("Minh", "Do")
    assert provider_name("Maria do Carmo Silva") == ("Maria do Carmo", "Silva")
    assert provider_role("PATEL, RAJ DO") == "physician"
    assert provider_role("Lee, Ann NP") == "nurse_practitioner"
    assert provider_role("Ross, Amy APRN, DNP") == "nurse_practitioner"
    assert provider_role("Kim, Jo PA-C") == "physician_assistant"
    assert provider_role("DO, MINH") is None  # a surname, not a credential
    assert provider_role("Dr. Ben Brook") is None


def test_a_prospect_without_a_credential_keeps_the_models_default_role():
    assert "role" not in prospect_record(ZIMMER, ["Zimmer, Carla"])
    assert prospect_record(ZIMMER, ["Zimmer, Carla NP"])["role"] == "nurse_practitioner"
    # one row spells the name without the credential, another with it
    assert prospect_record(ZIMMER, ["Zimmer, Carla", "ZIMMER, CARLA NP"])["role"] == (
        "nurse_practitioner"
    )


def test_a_prospect_takes_the_id_its_npi_gives_and_the_name_most_rows_spell():
    record = prospect_record(
        ZIMMER, ["Zimmer, Carla", None, "ZIMMER, CARLA MD", "ZIMMER, CARLA MD"]
    )
    assert record["id"] == canonical_id("clinician", ZIMMER)
    assert (record["first_name"], record["last_name"]) == ("Carla", "Zimmer")
    assert record["npi"] == ZIMMER and record["prospect"] is True


def _export(hub: Hub, name: str, rows: list[tuple[str, str, str, str]]) -> None:
    path = hub.root / "exports" / "epic" / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for csn, number, npi, who in rows:
            out.writerow([csn, "00012345", "03/05/2026 9:30 AM", "1", "03/01/2026 8:00 AM",
                          number, npi, who, "CARDIOLOGY CLINIC"])  # fmt: skip
    past = datetime.now().timestamp() - 5
    os.utime(path, (past, past))


def _with_prospects(hub: Hub, min_referrals: int = 2) -> None:
    def edit(data: dict) -> None:
        data["referrers"] = {"create_prospects": True, "prospect_min_referrals": min_referrals}

    hub.edit_config(edit)
    seed_crm(hub.sf, hub.hs)
    time.sleep(1.1)  # a read's window ends at the run's start second
    assert hub.run("partners-to-hubspot").exit_code() == 0


def _hs_contacts(hub: Hub, npi: str) -> list[dict]:
    return [c for c in hub.hs.records("contacts") if c["properties"].get("refsync_npi") == npi]


def _sf_referral(hub: Hub, number: str) -> dict:
    return next(r for r in hub.sf.records("Referral__c") if r["Referral_Number__c"] == number)


def _deal_contacts(hub: Hub, number: str) -> list[str]:
    deal = next(
        d for d in hub.hs.records("deals") if d["properties"]["refsync_referral_number"] == number
    )
    return hub.hs.associations("deals", deal["id"], "contacts")


def _referred_by_unknowns(hub: Hub) -> None:
    _export(hub, "a.csv", [
        ("1", "REF-8001", ZIMMER, "ZIMMER, CARLA MD"),
        ("2", "REF-8002", ZIMMER, "Zimmer, Carla"),
        ("3", "REF-8003", ONCE, "PATEL, RAJ DO"),
    ])  # fmt: skip
    report = hub.run("scheduling-to-crm")
    assert report.exit_code() == 0, report.to_json()
    assert report.read["hub/clinician/prospects created"] == 1
    assert report.read["hub/clinician/prospects waiting: below prospect_min_referrals"] == 1
    assert sorted(report.unresolved) == [
        f"REF-8001: referring NPI {ZIMMER} matches no clinician yet (a prospect clinician holds it)",
        f"REF-8002: referring NPI {ZIMMER} matches no clinician yet (a prospect clinician holds it)",
        f"REF-8003: referring NPI {ONCE} matches no clinician yet",
    ]
    assert hub.run("partners-to-hubspot").exit_code() == 0  # writes the prospect to HubSpot


def test_an_unknown_referrer_becomes_a_hubspot_prospect_and_then_the_clinician_salesforce_supplies(
    hub: Hub,
) -> None:
    _with_prospects(hub)
    _referred_by_unknowns(hub)
    [prospect] = _hs_contacts(hub, ZIMMER)
    props = prospect["properties"]
    assert (props["firstname"], props["lastname"], props["refsync_prospect"]) == (
        "Carla", "Zimmer", "true"
    )  # fmt: skip
    assert _hs_contacts(hub, ONCE) == []  # one referral: below the threshold of two
    listed = (hub.root / "outputs" / "new-referrers.csv").read_text(encoding="utf-8-sig")
    rows = {r["referring_npi"]: r for r in csv.DictReader(listed.splitlines())}
    assert (rows[ZIMMER]["prospect"], rows[ONCE]["prospect"]) == ("yes", "no")
    assert rows[ZIMMER]["suggested_clinician_id"] == ""  # not suggested as its own match
    # a prospect is a lead, not a referrer: nothing points at it
    assert _sf_referral(hub, "REF-8001").get("Clinician__c") is None
    assert _deal_contacts(hub, "REF-8001") == []

    # sales ops recruit her: the Contact in Salesforce is the clinician from now on
    account = hub.sf.records("Account")[0]["Id"]
    [contact] = hub.sf.insert("Contact", [{"FirstName": "Carla", "LastName": "Zimmer-Hale",
                                           "NPI__c": ZIMMER, "AccountId": account}])  # fmt: skip
    time.sleep(1.1)
    supplied = hub.run("partners-to-hubspot")
    assert supplied.read.get("salesforce/clinician/prospects supplied") == 1
    assert supplied.read.get("hub/referral/linked to referrer") == 2
    [same] = _hs_contacts(hub, ZIMMER)  # updated in place, not duplicated
    assert same["id"] == prospect["id"]
    assert (same["properties"]["lastname"], same["properties"]["refsync_prospect"]) == (
        "Zimmer-Hale", "false"
    )  # fmt: skip
    hub.run("scheduling-to-crm")  # sends the linked referrals
    for number in ("REF-8001", "REF-8002"):
        ref = _sf_referral(hub, number)
        assert (ref["Clinician__c"], ref["Partner__c"]) == (contact, account)
        assert _deal_contacts(hub, number) == [same["id"]]


def test_an_existing_contact_given_a_prospects_npi_wins_it_and_the_prospect_is_retired(
    hub: Hub,
) -> None:
    _with_prospects(hub)
    account = hub.sf.records("Account")[0]["Id"]
    [contact] = hub.sf.insert("Contact", [{"LastName": "Zimmer", "AccountId": account}])
    time.sleep(1.1)
    _referred_by_unknowns(hub)
    client = hub.sf.make_client()
    client.Contact.update(contact, {"NPI__c": ZIMMER})
    time.sleep(1.1)
    report = hub.run("partners-to-hubspot")
    assert report.exit_code() == 0, report.to_json()  # the Contact is not refused its NPI
    assert report.read.get("salesforce/clinician/prospects retired: NPI taken by a clinician") == 1
    assert report.read.get("hub/referral/linked to referrer") == 2
    hub.run("scheduling-to-crm")
    assert _sf_referral(hub, "REF-8002")["Clinician__c"] == contact


def test_without_create_prospects_no_clinician_is_made_for_an_unknown_npi(hub: Hub) -> None:
    seed_crm(hub.sf, hub.hs)
    _export(hub, "a.csv", [("1", "REF-8101", ZIMMER, "ZIMMER, CARLA MD")])
    report = hub.run("scheduling-to-crm")
    assert "hub/clinician/prospects created" not in report.read
    assert report.totals["unresolved"] == 1
    hub.run("partners-to-hubspot")
    assert _hs_contacts(hub, ZIMMER) == []


def test_validate_names_a_clinician_destination_whose_mapping_cannot_flag_a_prospect(
    hub: Hub,
) -> None:
    hub.edit_config(lambda data: data.update(referrers={"create_prospects": True}))
    mapping: Path = hub.root / "mappings" / "hubspot.yaml"
    text = mapping.read_text(encoding="utf-8")
    dropped = "\n".join(line for line in text.splitlines() if "refsync_prospect" not in line)
    mapping.write_text(dropped + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "--config", str(hub.root)])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "refsync.yaml:" in flat
    assert "job 'partners-to-hubspot' sends clinicians to 'hubspot'" in flat
    assert "does not map the clinician field prospect" in flat


def test_a_referral_resolved_by_the_runs_second_pass_is_no_longer_listed_as_waiting():
    from sync.engine.derive_pass import DerivedReferrals

    first = DerivedReferrals(linked=["r1"], unresolved={"REF-1": ZIMMER, "REF-2": ONCE},
                             names={"REF-1": "Zimmer, Carla", "REF-2": None})  # fmt: skip
    # the clinician for ZIMMER arrived in the same run: the pass over every waiting referral
    later = DerivedReferrals(linked=["r2"], unresolved={"REF-2": ONCE}, names={"REF-2": None})
    first.absorb(later)
    assert first.unresolved == {"REF-2": ONCE}
    assert first.linked == ["r1", "r2"]
    assert first.waiting_names() == {ONCE: [None]}
