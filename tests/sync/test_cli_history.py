"""`refsync history REF` and `refsync conflicts`, through the CLI, on the demo's program."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app
from sync.state import ConflictRow, StateStore

runner = CliRunner()


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("REFSYNC_PATIENT_KEY", raising=False)
        mp.delenv("REFSYNC_STATE_URL", raising=False)
        result = runner.invoke(app, ["demo", "--workdir", str(workdir)])
    assert result.exit_code == 0, result.output
    return workdir / "program"


def _referral_id(program: Path, number: str) -> str:
    store = StateStore.open(f"sqlite:///{program / 'state.db'}")
    try:
        return store.find_ids_by_key("referral", "referral_number", [number])[number]
    finally:
        store.close()


def test_history_prints_each_event_with_its_system_and_the_settled_stage(program):
    result = runner.invoke(app, ["history", "REF-1041", "--config", str(program)])
    assert result.exit_code == 0, result.output
    assert "REF-1041: stage completed" in result.output
    assert "epic" in result.output


def test_history_json_lists_events_in_event_time_order_in_the_program_timezone(program):
    result = runner.invoke(app, ["history", "REF-1041", "--config", str(program), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["referral_number"] == "REF-1041" and data["stage"] == "completed"
    times = [e["entered_at"] for e in data["events"]]
    assert times == sorted(times) and times
    assert data["events"][-1] == {**data["events"][-1], "stage": "completed", "system": "epic"}
    assert not any(t.endswith("+00:00") for t in times)  # the demo program runs in Chicago
    assert {e["decision"] for e in data["events"]} <= {"applied", "same", "rescheduled"}
    epic = [e for e in data["events"] if e["system"] == "epic"]
    assert epic and all(e["source"].rsplit(":", 1)[1].isdigit() for e in epic)  # file:line


def test_history_of_an_unknown_referral_number_exits_2_and_says_what_to_do(program):
    result = runner.invoke(app, ["history", "REF-NOPE", "--config", str(program)])
    assert result.exit_code == 2
    assert "no referral 'REF-NOPE'" in result.output and "refsync run" in result.output


def test_conflicts_lists_a_recorded_conflict_with_its_referral_number(program):
    store = StateStore.open(f"sqlite:///{program / 'state.db'}")
    try:
        store.record_conflicts(
            [
                ConflictRow(
                    entity="referral",
                    canonical_id=_referral_id(program, "REF-1042"),
                    field="stage",
                    proposing_system="salesforce",
                    owner="epic",
                    summary="scheduled -> accepted refused (owner epic)",
                )
            ]
        )
    finally:
        store.close()
    result = runner.invoke(app, ["conflicts", "--config", str(program), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["referral_number"], r["field"], r["owner"]) for r in rows] == [
        ("REF-1042", "stage", "epic")
    ]
    table = runner.invoke(app, ["history", "REF-1042", "--config", str(program)])
    assert "Conflicts on REF-1042 (1)" in table.output


def test_conflicts_of_a_job_with_no_runs_recording_them_is_an_empty_list(program):
    result = runner.invoke(
        app, ["conflicts", "partners-to-hubspot", "--config", str(program), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
