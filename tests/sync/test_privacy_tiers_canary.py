"""Canary values per privacy tier, through both CRM sandboxes with the real clients.

A scheduling export full of planted names, MRNs, birth dates, free-text cancel reasons and
exact appointment times goes through `scheduling-to-crm` with ``phi_passthrough: true`` and
the PHI block mapped into the hub. Then:

- a ``deidentified`` destination (the default) receives none of them;
- a ``limited`` destination receives the appointment times, never a name, MRN or birth date;
- a ``full`` destination receives what its mapping says;
- no log line, error row, run report or output file carries a name, MRN, birth date or
  free text, and the state file carries no canary at all, in any tier.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mapping.errors import ConfigurationError
from tests.sync.conftest import Hub

MRNS = ["0048151623", "0042424242", "0031415926", "0027182818"]
NAMES = ["Zebulon Quillfeather", "Octavia Marchbanks", "Perpetua Snodgrass", "Ignatius Wobble"]
BIRTHS = ["02/11/1937", "02/29/1944", "07/04/1951", "11/11/1911"]
BIRTHS_ISO = ["1937-02-11", "1944-02-29", "1951-07-04", "1911-11-11"]
FREE_TEXT = "Fell at home, Quillfeather family asked to wait"
# Local appointment times (America/Chicago, CST = UTC-6), as the destinations would write them.
APPOINTMENTS = [datetime(2024, 3, 5 + i, 15, 30, tzinfo=UTC) for i in range(4)]
EXACT_TIMES = [
    *(a.strftime("%Y-%m-%dT%H:%M") for a in APPOINTMENTS),
    *(str(int(a.timestamp() * 1000)) for a in APPOINTMENTS),
]
IDENTITY = [*MRNS, *(m.lstrip("0") for m in MRNS), *NAMES, *BIRTHS, *BIRTHS_ISO,
            "Quillfeather", "Marchbanks", FREE_TEXT]  # fmt: skip

HEADER = ("PAT_ENC_CSN_ID,PAT_MRN_ID,PAT_NAME,BIRTH_DATE,APPT_DTTM,APPT_MADE_DTTM,"
          "APPT_STATUS_C,CANCEL_REASON_NAME,DEPARTMENT_NAME,REFERRAL_ID\r\n")  # fmt: skip
ROWS = [
    f'{i + 1},{MRNS[i]},"{NAMES[i]}",{BIRTHS[i]},03/{5 + i:02d}/2024 9:30 AM,'
    f'02/20/2024 8:00 AM,{status},"{FREE_TEXT if status == 3 else ""}",CARDIOLOGY,CAN-{i + 1}'
    for i, status in enumerate([2, 1, 3, 1])
]

PHI_BLOCK = """\
      - {canonical: patient.mrn, native: mrn, direction: in, transforms: [strip]}
      - {canonical: patient.name, native: patient_name, direction: in, transforms: [strip]}
      - {canonical: patient.birth_date, native: birth_date, direction: in}
"""


def _prepare(hub: Hub, salesforce: dict | None = None, sf_fields: str = "") -> None:
    def edit(data):
        data["connections"]["epic"]["settings"]["phi_passthrough"] = True
        for key, value in (salesforce or {}).items():
            data["connections"]["salesforce"][key] = value

    hub.edit_config(edit)
    epic = hub.root / "mappings" / "epic.yaml"
    epic.write_text(epic.read_text() + PHI_BLOCK)
    if sf_fields:
        sf = hub.root / "mappings" / "salesforce.yaml"
        anchor = "      - {canonical: patient_ref, native: Patient_Ref__c"
        sf.write_text(sf.read_text().replace(anchor, sf_fields + anchor, 1))
    (hub.root / "exports" / "epic" / "canary.csv").write_text(HEADER + "\r\n".join(ROWS) + "\r\n")


def _run(hub: Hub) -> tuple[str, str, str, str]:
    """(Salesforce referrals, HubSpot deals, report + errors, output files) as text."""
    engine, runtime, store = hub.engine()
    try:
        report = engine.run("scheduling-to-crm")
        errors = store.open_errors()
    finally:
        runtime.close()
        store.close()
    assert report.status == "ok", report.to_json()
    sf_rows = hub.sf.records("Referral__c")
    deals = [d["properties"] for d in hub.hs.records("deals")]
    assert len(sf_rows) == len(deals) == 4  # the data really flowed, so the canary can fail
    outputs = "\n".join(p.read_text() for p in (hub.root / "outputs").glob("*.csv"))
    assert "CAN-" in outputs
    return (
        json.dumps(sf_rows, default=str),
        json.dumps(deals, default=str),
        json.dumps(report.to_json(), default=str) + repr(errors),
        outputs,
    )


def _state_bytes(root: Path) -> str:
    """Every state file as a copy off the machine would find it (database, WAL, shared
    memory, any journal: freed pages and old page images included), then again with the
    WAL folded into the database."""
    import sqlite3

    def files() -> bytes:
        return b"".join(p.read_bytes() for p in root.glob("state.db*") if p.suffix != ".key")

    as_found = files()
    with sqlite3.connect(root / "state.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return (as_found + files()).decode("utf-8", errors="replace")


def _found(needles: list[str], haystack: str) -> list[str]:
    return [n for n in needles if n in haystack]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def _common_checks(hub: Hub, report: str, outputs: str, deals: str, logs) -> None:
    log_text = "\n".join(r.getMessage() for r in logs.records)
    assert _found(IDENTITY, report + outputs + log_text) == []
    assert _found(IDENTITY + EXACT_TIMES, deals) == []  # HubSpot stays deidentified
    assert _found(IDENTITY + EXACT_TIMES, _state_bytes(hub.root)) == []
    assert "2024-W10" in deals  # the coarsened week did flow


def test_a_deidentified_destination_receives_no_identity_free_text_or_exact_time(hub, logs):
    _prepare(hub)
    sf, deals, report, outputs = _run(hub)
    assert _found(IDENTITY + EXACT_TIMES, sf) == []
    assert '"Days_To_Complete__c"' in sf and "2024-W10" in sf
    _common_checks(hub, report, outputs, deals, logs)


def test_a_limited_destination_receives_appointment_times_but_no_identity(hub, logs):
    _prepare(
        hub,
        {"privacy": "limited", "data_use_agreement": "DUA-2026-07"},
        "      - {canonical: appointment_at, native: Appointment_At__c, direction: out, "
        "transforms: [datetime]}\n",
    )
    sf, deals, report, outputs = _run(hub)
    assert _found(EXACT_TIMES[:4], sf) == EXACT_TIMES[:4]
    assert _found(IDENTITY, sf) == []
    _common_checks(hub, report, outputs, deals, logs)


def test_a_limited_hubspot_receives_appointment_times_but_no_identity(hub, logs):
    _prepare(hub)
    hub.edit_config(
        lambda d: d["connections"]["hubspot"].update(privacy="limited", data_use_agreement="DUA-9")
    )
    mapping = hub.root / "mappings" / "hubspot.yaml"
    anchor = "      - {canonical: patient_ref, native: refsync_patient_ref"
    mapping.write_text(
        mapping.read_text().replace(
            anchor,
            "      - {canonical: appointment_at, native: refsync_appointment_at, direction: out, "
            "transforms: [{datetime: epoch_ms}]}\n" + anchor,
            1,
        )
    )
    sf, deals, report, outputs = _run(hub)
    # HubSpot answers a datetime property as ISO text, whatever the epoch ms sent
    assert _found(EXACT_TIMES[:4], deals) == EXACT_TIMES[:4]
    assert _found(IDENTITY, deals) == [] and _found(IDENTITY + EXACT_TIMES, sf) == []
    log_text = "\n".join(r.getMessage() for r in logs.records)
    assert _found(IDENTITY, report + outputs + log_text) == []
    assert _found(IDENTITY + EXACT_TIMES, _state_bytes(hub.root)) == []


def test_a_full_destination_receives_what_its_mapping_says_and_nothing_rests_in_clear(hub, logs):
    _prepare(
        hub,
        {"privacy": "full", "baa": "BAA-2026-01"},
        "      - {canonical: patient.name, native: Reason__c, direction: out}\n"
        "      - {canonical: cancel_reason, native: Cancel_Reason__c, direction: out}\n",
    )
    sf, deals, report, outputs = _run(hub)
    assert _found(NAMES, sf) == NAMES and FREE_TEXT in sf
    assert _found([*MRNS, *BIRTHS_ISO], sf) == []  # not mapped, so not sent
    _common_checks(hub, report, outputs, deals, logs)


def test_the_issues_route_of_names_into_a_reason_is_refused_before_any_api_call(hub):
    """The reported leak: {canonical: reason, native: patient_name, direction: in} with
    phi_passthrough wrote 200 names into Reason__c of a CRM that may not hold PHI."""
    _prepare(
        hub,
        sf_fields="      - {canonical: reason, native: Reason__c, transforms: [strip]}\n",
    )
    epic = hub.root / "mappings" / "epic.yaml"
    epic.write_text(
        epic.read_text().replace(
            "{canonical: patient.name, native: patient_name, direction: in, transforms: [strip]}",
            "{canonical: reason, native: patient_name, direction: in}",
        )
    )
    calls = hub.write_write_calls()
    with pytest.raises(ConfigurationError) as caught:
        hub.run("scheduling-to-crm")
    (problem,) = caught.value.problems
    assert problem.startswith(f"{hub.root / 'mappings' / 'salesforce.yaml'}:")
    assert "epic patient_name (direct_identifier" in problem and "Reason__c" in problem
    assert hub.write_write_calls() == calls and hub.sf.records("Referral__c") == []
