"""Referrers nobody knows yet are listed for review with a scored name + practice suggestion,
never linked by a guess."""

from __future__ import annotations

from difflib import SequenceMatcher

from connectors.scheduling.new_referrers import new_referrer_rows, suggest
from connectors.scheduling.writers import Contacts
from mapping.model import Clinician, Partner, Referral

CONTACTS = Contacts(
    partners={"p1": Partner(id="p1", name="Northside Family Medicine"),
              "p2": Partner(id="p2", name="Riverbend Cardiology Associates")},
    clinicians={
        "c1": Clinician(id="c1", first_name="Ada", last_name="Avery", npi="1234567893",
                        partner_id="p1"),
        "c2": Clinician(id="c2", first_name="Ben", last_name="Brook", partner_id="p2"),
    },
)  # fmt: skip
UNKNOWN = "1245319599"  # valid check digit, nobody's


def _ref(number: str, **extra: object) -> Referral:
    return Referral(id=number, referral_number=number, **extra)  # type: ignore[arg-type]


def test_a_name_spelled_another_way_at_the_same_practice_is_suggested_with_its_score():
    found = suggest("AVERY, ADA MD", "Northside Family Med.", CONTACTS)
    assert found is not None and found.clinician.id == "c1"
    practice = SequenceMatcher(None, "family med northside", "family medicine northside").ratio()
    assert found.score == round(0.7 * 1.0 + 0.3 * practice, 2)


def test_a_name_alone_counts_fully_and_a_poor_match_suggests_nobody():
    assert suggest("Dr. Ben Brook", None, CONTACTS).score == 1.0  # type: ignore[union-attr]
    assert suggest("Carla Zimmer", "Lakeside Pediatrics", CONTACTS) is None
    assert suggest(None, "Northside Family Medicine", CONTACTS) is None


def test_unknown_npis_are_listed_once_with_counts_lines_and_no_referral_number():
    referrals = [
        _ref("REF-1", referring_npi=UNKNOWN, referring_name="Ada Avery",
             referring_practice="Northside Family Medicine", service_line="cardiology"),
        _ref("REF-2", referring_npi=UNKNOWN, service_line="ortho"),
        _ref("REF-3", referring_npi="1234567893"),  # known: not listed
        _ref("REF-4", referring_npi="1003000126", clinician_id="c2"),  # linked: not listed
    ]  # fmt: skip
    [row] = new_referrer_rows(referrals, CONTACTS)
    assert row == {
        "referring_npi": UNKNOWN, "referring_name": "Ada Avery",
        "referring_practice": "Northside Family Medicine", "referrals": 2,
        "service_lines": "cardiology;ortho", "suggested_clinician_id": "c1",
        "suggested_clinician": "Ada Avery", "suggested_clinician_npi": "1234567893",
        "suggested_partner": "Northside Family Medicine", "score": 1.0, "prospect": "no",
    }  # fmt: skip
    assert "REF-" not in repr(row)


def test_a_run_lists_an_unknown_referrer_in_new_referrers_csv_and_links_nothing(hub):
    import csv
    import os
    import time
    from datetime import datetime

    from sync.demo import _CLINICIANS, seed_crm

    seed_crm(hub.sf, hub.hs)
    time.sleep(1.1)
    assert hub.run("partners-to-hubspot").exit_code() == 0
    first, last, _, _ = _CLINICIANS[0]
    path = hub.root / "exports" / "epic" / "a.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "PAT_ENC_CSN_ID",
                "PAT_MRN_ID",
                "APPT_DTTM",
                "APPT_STATUS_C",
                "APPT_MADE_DTTM",
                "REFERRAL_ID",
                "REFERRING_PROV_NPI",
                "REFERRING_PROV_NAME",
                "REFERRING_LOC_NAME",
                "DEPARTMENT_NAME",
            ]
        )
        out.writerow(["1", "00012345", "03/05/2026 9:30 AM", "1", "03/01/2026 8:00 AM",
                      "REF-9001", UNKNOWN, f"{last.upper()}, {first.upper()} MD", "",
                      "CARDIOLOGY CLINIC"])  # fmt: skip
    past = datetime.now().timestamp() - 5
    os.utime(path, (past, past))
    report = hub.run("scheduling-to-crm")
    assert report.totals["unresolved"] == 1
    text = (hub.root / "outputs" / "new-referrers.csv").read_text(encoding="utf-8-sig")
    [row] = list(csv.DictReader(text.splitlines()))
    assert (row["referring_npi"], row["referrals"], row["score"]) == (UNKNOWN, "1", "1.0")
    assert row["suggested_clinician"] == f"{first} {last}"
    assert "REF-9001" not in text and "00012345" not in text
    referral = next(r for r in hub.sf.records("Referral__c") if r["Name"] == "REF-9001")
    assert referral.get("Clinician__c") is None  # suggested, never linked
