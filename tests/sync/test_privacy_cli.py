"""`refsync privacy`, `refsync rotate-key` and `refsync schema --fields` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mapping.errors import StateError
from sync.cli import app
from sync.state import StateStore, new_key

runner = CliRunner()
PHI = {"name": "Zebulon Quillfeather", "mrn": "0048151623"}


def _privacy(program: Path) -> tuple[int, dict]:
    result = runner.invoke(app, ["privacy", "--config", str(program), "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_the_report_lists_every_field_leaving_for_each_destination_and_output(program):
    code, report = _privacy(program)
    assert code == 0 and report["refused"] == 0
    rows = report["fields"]
    crm = [r for r in rows if r["kind"] == "connection"]
    assert {r["destination"] for r in crm} == {"salesforce", "hubspot"}
    assert {r["tier"] for r in crm} == {"deidentified"}
    assert {r["data_class"] for r in crm} == {"operational", "coarsened"}
    week = next(r for r in crm if r["field"] == "Received_Week__c")
    assert week["canonical"] == "referral.received_week"
    assert week["why"].startswith("deidentified may hold coarsened: coarsened by refsync")
    outputs = {(r["target"], r["field"]): r for r in rows if r["kind"] == "output"}
    accepted = outputs[("scheduling-worklist.csv", "accepted_at")]
    assert (accepted["destination"], accepted["tier"]) == ("epic", "full")
    assert accepted["agreement"] == "the covered entity's own system"


def test_an_output_in_a_tier_below_its_columns_is_reported_as_not_allowed(program):
    config = program / "refsync.yaml"
    text = config.read_text()
    config.write_text(text.replace("    mapping: mappings/epic.yaml", "    mapping: mappings/epic.yaml\n    privacy: deidentified", 1))  # fmt: skip
    code, report = _privacy(program)
    assert code == 2
    refused = {(r["target"], r["field"]) for r in report["fields"] if not r["allowed"]}
    assert ("scheduling-worklist.csv", "accepted_at") in refused
    assert ("unmatched-appointments.csv", "authorization_number") in refused
    assert all(r["why"].startswith("NOT ALLOWED") for r in report["fields"] if not r["allowed"])


def test_the_table_names_the_agreement_of_each_tier(program):
    config = program / "refsync.yaml"
    text = config.read_text().replace(
        "    privacy: deidentified",
        '    privacy: limited\n    data_use_agreement: "DUA-2026-07"',
        1,
    )
    config.write_text(text)
    result = runner.invoke(app, ["privacy", "--config", str(program)])
    assert result.exit_code == 0, result.output
    assert "limited (DUA DUA-2026-07)" in result.output
    assert "fields leave; 0 not allowed by their tier" in result.output


def _plant(url: str, keys: list[str] | None = None) -> None:
    rows = [(f"r{i}", {"id": f"r{i}", "referral_number": f"R{i}", "patient": PHI}, False)
            for i in range(3)]  # fmt: skip
    with StateStore.open(url, keys=keys) as store:
        store.put_records("referral", rows)


def test_rotate_key_rewrites_the_key_file_and_the_old_key_no_longer_opens_anything(program):
    url = f"sqlite:///{program / 'state.db'}"
    _plant(url)
    key_file = program / "state.db.key"
    old = key_file.read_text().strip()
    result = runner.invoke(app, ["rotate-key", "--config", str(program)])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 3 records under the new key; 3 open with it alone" in result.output
    fresh = key_file.read_text().strip()
    assert fresh != old and len(fresh.splitlines()) == 1
    with StateStore.open(url) as store:  # the key file alone
        assert store.get_record("referral", "r2").data["patient"] == PHI
    with StateStore.open(url, keys=[old]) as store, pytest.raises(StateError):
        store.get_record("referral", "r2")
    assert old not in result.output and fresh not in result.output


def test_rotate_key_with_the_key_in_the_environment_needs_the_new_key_given(program, monkeypatch):
    url = f"sqlite:///{program / 'state.db'}"
    old = new_key()
    monkeypatch.setenv("REFSYNC_STATE_KEY", old)
    _plant(url)
    refused = runner.invoke(app, ["rotate-key", "--config", str(program)])
    assert refused.exit_code == 2 and "--new-key" in refused.output
    fresh = runner.invoke(app, ["rotate-key", "--print-new-key"]).stdout.strip()
    result = runner.invoke(app, ["rotate-key", "--config", str(program), "--new-key", fresh])
    assert result.exit_code == 0, result.output
    assert "set REFSYNC_STATE_KEY to the new key" in result.output
    with StateStore.open(url, keys=[fresh]) as store:
        assert store.get_record("referral", "r0").data["patient"] == PHI


def test_schema_fields_lists_the_class_of_every_canonical_field():
    result = runner.invoke(app, ["schema", "--fields"])
    assert result.exit_code == 0
    rows = {(r["entity"], r["field"]): r["class"] for r in json.loads(result.stdout)["fields"]}
    assert rows[("referral", "patient.mrn")] == "direct_identifier"
    assert rows[("referral", "appointment_at")] == "quasi_identifier"
    assert rows[("referral", "reason")] == "clinical_text"
    assert rows[("referral", "days_to_schedule")] == "coarsened"
    assert rows[("referral", "stage")] == "operational"


def test_validate_and_every_run_refuse_outputs_above_their_connections_tier(program):
    config = program / "refsync.yaml"
    text = config.read_text()
    config.write_text(text.replace("    mapping: mappings/epic.yaml", "    mapping: mappings/epic.yaml\n    privacy: deidentified", 1))  # fmt: skip
    lines = config.read_text().splitlines()
    epic = lines.index("  epic:")
    line = next(i for i, t in enumerate(lines, 1) if i > epic and "privacy: deid" in t)
    result = runner.invoke(app, ["validate", "--config", str(program)])
    assert result.exit_code == 2
    worklist = next(p for p in result.output.splitlines() if "scheduling-worklist.csv" in p)
    assert worklist.startswith(f"{config}:{line}:")
    assert "accepted_at (quasi_identifier)" in worklist and "remove output_dir" in worklist
    run = runner.invoke(app, ["run", "scheduling-to-crm", "--config", str(program)])
    assert run.exit_code == 2 and "scheduling-worklist.csv" in run.output
