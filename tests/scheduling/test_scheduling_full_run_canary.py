"""Privacy canary through a full run: a scheduling export full of planted MRNs, names and
birth dates goes through `scheduling-to-crm` into Salesforce and HubSpot (both
``phi_allowed: false``, the shipped default). None of the planted strings may appear in
either destination's records, the logs, the error table, the run report or the state file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import write_program
from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from sync.demo import point_at_sandboxes, provision_hubspot
from sync.engine import Engine, Runtime, open_program
from sync.state import StateStore

MRNS = ["0048151623", "0042424242", "0031415926", "0027182818", "0016180339"]
NAMES = ["Zebulon Quillfeather", "Octavia Marchbanks", "Perpetua Snodgrass",
         "Ignatius Wobble", "Clementine Haversack"]  # fmt: skip
BIRTHS = ["02/11/1937", "02/29/1944", "07/04/1951", "11/11/1911", "1929-10-29"]
PLANTED = [*MRNS, *(m.lstrip("0") for m in MRNS), *NAMES, *BIRTHS,
           "Quillfeather", "Marchbanks", "1937-02-11", "1944-02-29"]  # fmt: skip

HEADER = ("PAT_ENC_CSN_ID,PAT_MRN_ID,PAT_NAME,BIRTH_DATE,APPT_DTTM,APPT_MADE_DTTM,"
          "APPT_STATUS_C,DEPARTMENT_NAME,REFERRAL_ID\r\n")  # fmt: skip
ROWS = [
    f'1,{MRNS[0]},"{NAMES[0]}",{BIRTHS[0]},03/05/2024 9:30 AM,02/20/2024 8:00 AM,2,CARDIOLOGY,CAN-1',
    f'2,{MRNS[1]},"{NAMES[1]}",{BIRTHS[1]},03/06/2024 9:30 AM,02/21/2024 8:00 AM,1,CARDIOLOGY,CAN-2',
    f'3,{MRNS[2]},"{NAMES[2]}",{BIRTHS[2]},03/07/2024 9:30 AM,02/22/2024 8:00 AM,4,CARDIOLOGY,CAN-3',
    f'4,{MRNS[3]},"{NAMES[3]}",{BIRTHS[3]},{BIRTHS[3]} {NAMES[3]},02/22/2024 8:00 AM,1,CARDIOLOGY,CAN-4',
    f'5,{MRNS[4]},"{NAMES[4]}",{BIRTHS[4]},03/08/2024 9:30 AM,02/23/2024 8:00 AM,1,CARDIOLOGY,',
]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[SalesforceSandbox, HubSpotSandbox]]:
    with SalesforceSandbox() as sf, HubSpotSandbox() as hs:
        yield sf, hs


@pytest.fixture
def program(tmp_path: Path, servers, monkeypatch: pytest.MonkeyPatch) -> Path:
    sf, hs = servers
    root = tmp_path / "program"
    write_program(root)
    env: dict[str, str] = {}
    point_at_sandboxes(root, sf, hs, env)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("REFSYNC_PATIENT_KEY", "canary-patient-key-" + "7" * 32)
    provision_hubspot(root)
    exports = root / "exports" / "epic"
    exports.mkdir(parents=True, exist_ok=True)
    (exports / "canary.csv").write_text(HEADER + "\r\n".join(ROWS) + "\r\n")
    return root


def _run(root: Path) -> tuple[dict, list]:
    store = StateStore.open(f"sqlite:///{root / 'state.db'}")
    runtime = Runtime(open_program(root))
    try:
        report = Engine(runtime, store).run("scheduling-to-crm")
        errors = store.open_errors()
    finally:
        runtime.close()
        store.close()
    return report.to_json(), errors


def test_planted_phi_reaches_no_destination_log_error_report_or_state(program, servers, caplog):
    """Failure catalogue: L1."""
    sf, hs = servers
    caplog.set_level(logging.DEBUG)
    report, errors = _run(program)

    sf_rows = sf.records("Referral__c")
    deals = hs.records("deals")
    assert {r["Referral_Number__c"] for r in sf_rows} == {"CAN-1", "CAN-2", "CAN-3"}
    assert len(deals) == 3  # the data really flowed, so the canary can fail
    assert len(errors) == 2  # the bad-date row and the row without a referral number

    haystack = "\n".join([
        json.dumps(sf_rows, default=str),
        json.dumps(deals, default=str),
        repr(report),
        json.dumps([vars(e) if hasattr(e, "__dict__") else repr(e) for e in errors], default=str),
        "\n".join(r.getMessage() for r in caplog.records),
        (program / "state.db").read_bytes().decode("utf-8", errors="replace"),
    ])  # fmt: skip
    leaked = [s for s in PLANTED if s in haystack]
    assert leaked == []
