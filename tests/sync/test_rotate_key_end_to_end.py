"""`refsync rotate-key` on a program that has run: afterwards the old key is gone, every
record decrypts with the new one, and the next export still matches its referrals by patient
key (a keyed hash opened from the sealed patient block) through both CRM sandboxes."""

from __future__ import annotations

import csv
import os
from datetime import datetime

import pytest
from typer.testing import CliRunner

from mapping.errors import StateError
from sync.cli import app
from sync.state import StateStore
from tests.sync.conftest import Hub, deal_stages

MRNS = ["0048151623", "0042424242", "0031415926"]
NAMES = ["Zebulon Quillfeather", "Octavia Marchbanks", "Perpetua Snodgrass"]
HEADER = ["PAT_ENC_CSN_ID", "PAT_MRN_ID", "PAT_NAME", "APPT_DTTM", "APPT_STATUS_C",
          "APPT_MADE_DTTM", "REFERRAL_ID", "DEPARTMENT_NAME"]  # fmt: skip
PHI_BLOCK = """\
      - {canonical: patient.mrn, native: mrn, direction: in, transforms: [strip]}
      - {canonical: patient.name, native: patient_name, direction: in, transforms: [strip]}
"""


def _export(hub: Hub, name: str, status: str, day: int, with_number: bool) -> None:
    path = hub.root / "exports" / "epic" / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i, (mrn, patient) in enumerate(zip(MRNS, NAMES, strict=True)):
            number = f"ROT-{i + 1}" if with_number else ""
            out.writerow([f"{name}-{i}", mrn, patient, f"03/{day:02d}/2026 9:30 AM", status,
                          "03/01/2026 8:00 AM", number, "CARDIOLOGY"])  # fmt: skip
    past = datetime.now().timestamp() - 5
    os.utime(path, (past, past))


def _keys(hub: Hub) -> list[str]:
    return (hub.root / "state.db.key").read_text().split()


def test_after_rotate_key_without_the_old_key_records_decrypt_and_still_match(hub, monkeypatch):
    monkeypatch.delenv("REFSYNC_STATE_KEY", raising=False)
    monkeypatch.delenv("REFSYNC_STATE_KEY_FILE", raising=False)
    hub.edit_config(lambda d: d["connections"]["epic"]["settings"].update(phi_passthrough=True))
    epic = hub.root / "mappings" / "epic.yaml"
    epic.write_text(epic.read_text() + PHI_BLOCK)
    _export(hub, "scheduled.csv", "1", 5, with_number=True)
    first = hub.run("scheduling-to-crm")
    assert first.exit_code() == 0, first.to_json()
    [old] = _keys(hub)

    result = CliRunner().invoke(app, ["rotate-key", "--config", str(hub.root)])
    assert result.exit_code == 0, result.output
    [new] = _keys(hub)  # the key file holds the new key alone: the old one is gone
    assert new != old and old not in result.output
    with StateStore.open(hub.state_url, keys=[old]) as store, pytest.raises(StateError):
        list(store.iter_records("referral"))

    # completions without a referral number: matched by patient key, service line and date
    _export(hub, "completed.csv", "2", 9, with_number=False)
    second = hub.run("scheduling-to-crm")
    assert second.exit_code() == 0, second.to_json()
    numbers = [f"ROT-{i + 1}" for i in range(len(MRNS))]
    stages = {r["Referral_Number__c"]: r["Stage__c"] for r in hub.sf.records("Referral__c")}
    assert stages == dict.fromkeys(numbers, "Completed")
    assert deal_stages(hub.hs) == dict.fromkeys(numbers, "Completed")
    with StateStore.open(hub.state_url, keys=[new]) as store:
        patients = {
            r.data["referral_number"]: r.data["patient"] for r in store.iter_records("referral")
        }
    assert {n: (p["mrn"], p["name"]) for n, p in patients.items()} == {
        n: (m, p) for n, m, p in zip(numbers, MRNS, NAMES, strict=True)
    }
