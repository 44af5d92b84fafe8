"""Referrals derived on the page that merged them (sync.engine.page_derive) end exactly as the
pass after the read phase leaves them: the same corpus, run both ways on fresh sandboxes,
gives the same state store and the same records in both CRMs; and the pass no longer reads
back the referrals the pages derived."""

from __future__ import annotations

import csv
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sync.demo import _CLINICIANS, seed_crm
from sync.engine import Engine, Runtime, open_program
from sync.engine.page_derive import derives_on_page
from sync.state import StateStore
from tests.sync.conftest import Hub, make_hub
from tests.sync.referral_stories import epic_rows, stories, write_epic

EXPORTS = Path("exports") / "epic"
LINKAGE_HEADER = ["PAT_ENC_CSN_ID", "PAT_MRN_ID", "APPT_DTTM", "APPT_STATUS_C",
                  "APPT_MADE_DTTM", "REFERRAL_ID", "REFERRING_PROV_NPI", "DEPARTMENT_NAME"]  # fmt: skip
UNKNOWN_NPI = "1234567893"
# what a sandbox stamps on its own (ids are compared through the records they point to)
VOLATILE = {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "id", "createdAt",
            "updatedAt", "hs_object_id", "createdate", "hs_lastmodifieddate",
            "attributes"}  # fmt: skip


def _linkage_export(hub: Hub, name: str, rows: list[tuple[str, str, str, str]]) -> None:
    path = hub.root / EXPORTS / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(LINKAGE_HEADER)
        for csn, number, npi, status in rows:
            out.writerow([csn, f"0077{csn:0>4}", "03/05/2026 9:30 AM", status,
                          "03/01/2026 8:00 AM", number, npi, "CARDIOLOGY CLINIC"])  # fmt: skip
    past = datetime.now().timestamp() - 5
    os.utime(path, (past, past))


def _run(hub: Hub, job: str, *, on_page: bool, at: datetime) -> Any:
    store = StateStore.open(hub.state_url)
    runtime = Runtime(open_program(hub.root))
    engine = Engine(runtime, store, clock=lambda: at)
    engine.derive_on_page = on_page
    try:
        report = engine.run(job)
    finally:
        runtime.close()
        store.close()
    assert report.exit_code() == 0, report.to_json()
    return report


def _corpus_run(hub: Hub, *, on_page: bool, at: datetime) -> dict[str, Any]:
    """Two days of exports (page size 3, so a referral's rows span pages) through both CRMs."""
    seed_crm(hub.sf, hub.hs)
    time.sleep(1.1)  # a read's window ends at its start second
    _run(hub, "partners-to-hubspot", on_page=on_page, at=at)
    hub.edit_config(lambda d: d["connections"]["epic"]["settings"].__setitem__("page_size", 3))
    corpus = stories("PD", 2)
    rows = [r for s in corpus for _, r in epic_rows(s)]
    write_epic(hub.root / EXPORTS / "day-1.csv", rows[: len(rows) // 2], seed=1)
    known, other = _CLINICIANS[0][2], _CLINICIANS[1][2]
    _linkage_export(hub, "links-1.csv", [("1", "PD-L1", known, "1"), ("2", "PD-L2", UNKNOWN_NPI, "1"),
                                         ("3", "PD-L3", other, "1"), ("4", "PD-L1", known, "2")])  # fmt: skip
    first = _run(hub, "scheduling-to-crm", on_page=on_page, at=at)
    write_epic(hub.root / EXPORTS / "day-2.csv", rows, seed=2)
    _linkage_export(hub, "links-2.csv", [("5", "PD-L2", known, "1"), ("6", "PD-L3", other, "2")])
    second = _run(hub, "scheduling-to-crm", on_page=on_page, at=at + timedelta(days=1))
    return {
        "state": _state(hub),
        "salesforce": _by_number(hub.sf.records("Referral__c"), "Referral_Number__c", hub),
        "hubspot": _by_number(
            [d["properties"] | {"companies": _names(hub, d)} for d in hub.hs.records("deals")],
            "refsync_referral_number",
            hub,
        ),
        "reports": [
            (r.totals, sorted(r.unresolved), r.read.get("hub/referral/linked to referrer"))
            for r in (first, second)
        ],
    }


def _state(hub: Hub) -> dict[str, dict[str, Any]]:
    """Referral number -> data, its links by the NPI and name they lead to (the canonical ids
    of partners and clinicians come from the sandbox's record ids)."""
    with StateStore.open(hub.state_url) as store:
        npis = {r.id: r.data["npi"] for r in store.iter_records("clinician")}
        names = {r.id: r.data["name"] for r in store.iter_records("partner")}
        out = {}
        for r in store.iter_records("referral"):
            data = dict(r.data)
            data["clinician_id"] = npis.get(data.get("clinician_id") or "")
            data["partner_id"] = names.get(data.get("partner_id") or "")
            out[data["referral_number"]] = data
        return out


def _by_number(records: list[dict], key: str, hub: Hub) -> dict[str, dict]:
    contacts = {r["Id"]: r["NPI__c"] for r in hub.sf.records("Contact")}
    accounts = {r["Id"]: r["Name"] for r in hub.sf.records("Account")}
    out = {}
    for record in records:
        clean = {k: v for k, v in record.items() if k not in VOLATILE}
        for field, names in (("Clinician__c", contacts), ("Partner__c", accounts)):
            if clean.get(field):
                clean[field] = names[clean[field]]
        out[record[key]] = clean
    return out


def _names(hub: Hub, deal: dict) -> list[str]:
    companies = {c["id"]: c["properties"].get("name") for c in hub.hs.records("companies")}
    return sorted(companies[c] for c in hub.hs.associations("deals", deal["id"], "companies"))


def test_deriving_on_the_page_leaves_the_same_state_and_crm_records_as_the_pass_after_reading(
    tmp_path: Path, sf_server, hs_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    results = {}
    for on_page in (True, False):
        hub = make_hub(tmp_path / f"on-page-{on_page}", sf_server, hs_server, monkeypatch)
        results[on_page] = _corpus_run(hub, on_page=on_page, at=at)
    page, passed = results[True], results[False]
    assert len(page["state"]) == 8 * 2 + 3
    assert page["state"]["PD-L1"]["clinician_id"] == _CLINICIANS[0][2]
    assert page["state"]["PD-L1"]["qualification"]
    assert page["salesforce"]["PD-L1"]["Clinician__c"] == _CLINICIANS[0][2]
    assert page["reports"][0][1] == [f"PD-L2: referring NPI {UNKNOWN_NPI} matches no clinician yet"]
    for part in ("state", "salesforce", "hubspot", "reports"):
        assert page[part] == passed[part], part


def test_the_pass_does_not_read_back_the_referrals_their_pages_derived(
    tmp_path: Path, sf_server, hs_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    real, real_opening = StateStore.get_records, StateStore.get_records_opening

    def counting(self, entity, ids):
        ids = list(ids)
        if entity == "referral":
            reads.append(len(ids))
        return real(self, entity, ids)

    def counting_opening(self, entity, ids, opened):  # the reader's page reads
        ids = list(ids)
        if entity == "referral":
            reads.append(len(ids))
        return real_opening(self, entity, ids, opened)

    monkeypatch.setattr(StateStore, "get_records", counting)
    monkeypatch.setattr(StateStore, "get_records_opening", counting_opening)
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    opened = {}
    for on_page in (True, False):
        hub = make_hub(tmp_path / f"on-page-{on_page}", sf_server, hs_server, monkeypatch)
        hub.edit_config(lambda d: d["connections"]["epic"]["settings"].__setitem__("page_size", 4))
        rows = [(str(n), f"PD-{n:03d}", "", "1") for n in range(12)]
        _linkage_export(hub, "a.csv", rows)
        reads.clear()
        _run(hub, "scheduling-to-crm", on_page=on_page, at=at)
        opened[on_page] = sum(reads)
    # pages read the referrals they merge (12); the pass read them all again before
    assert opened == {True: 12, False: 24}


def test_only_referral_steps_with_no_later_clinician_step_derive_on_their_pages() -> None:
    steps = ["partner", "clinician", "referral", "clinician", "referral", "outreach"]
    assert [derives_on_page(steps, i) for i in range(len(steps))] == [
        False, False, False, False, True, False,
    ]  # fmt: skip
