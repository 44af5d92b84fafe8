"""What an admin reads from the job commands: the stage summary, truncated lists, next runs,
times in the program's timezone, JSON run events, and why a plan reads nothing."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sync.cli import app
from sync.cli._common import console
from sync.cli.cmd_jobs import _print_report
from sync.engine.report import RunReport, Transition
from tests.sync.conftest import Hub
from tests.sync.test_end_to_end import write_export

runner = CliRunner()


def _cli(hub: Hub, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--config", str(hub.root)], terminal_width=240)
    # --json output alone on stdout; warnings (the sandbox's insecure_http) go to stderr
    return result.exit_code, result.stdout if "--json" in args else result.output


def test_a_long_plan_lists_fifty_moves_then_says_how_many_more_and_sums_them_by_stage() -> None:
    report = RunReport(job="scheduling-to-crm", dry_run=True, status="planned")
    for i in range(1000):
        after = "completed" if i % 4 == 0 else "scheduled"
        report.add("transitions", Transition(f"REF-{i}", None, after, "epic"))
    with console.capture() as captured:
        _print_report(report, as_json=False)
    out = captured.get()
    assert "Stage moves (1,000)" in out
    assert sum(1 for line in out.splitlines() if line.startswith("  REF-")) == 50
    assert "+ 950 more" in out
    assert "By stage: would move 1,000 referrals to completed 250, scheduled 750" in out
    assert report.to_json()["by_stage"] == {"completed": 250, "scheduled": 750}


def test_plan_with_an_empty_export_folder_says_so_and_names_the_folder(hub: Hub) -> None:
    code, out = _cli(hub, "plan", "scheduling-to-crm")
    assert code == 0, out
    assert "the export folder" in out and "has no export files" in out
    assert str(hub.root / "exports" / "epic") in out


def test_run_with_log_json_logs_run_started_and_run_finished_events(hub: Hub) -> None:
    write_export(hub, "a.csv", [("1", "REF-1", "2", "03/05/2024 9:30 AM")])
    result = runner.invoke(
        app, ["run", "scheduling-to-crm", "--config", str(hub.root), "--log-json"]
    )
    assert result.exit_code == 0, result.output
    events = []
    for line in result.output.splitlines():
        if line.startswith("{") and '"event"' in line:
            events.append(json.loads(line))
    started, finished = (e for e in events if e["logger"] == "sync.engine.run")
    assert started["event"] == "run_started" and started["job"] == "scheduling-to-crm"
    assert finished["event"] == "run_finished" and finished["run_id"] == started["run_id"]
    assert finished["status"] == "ok" and finished["read"] == 1 and finished["rejected"] == 0
    assert "CANARY" not in result.output  # the export's patient name never reaches a log


def test_status_shows_times_in_the_program_timezone_and_each_jobs_next_run(hub: Hub) -> None:
    write_export(hub, "a.csv", [("1", "REF-1", "2", "03/05/2024 9:30 AM")])
    assert _cli(hub, "run", "scheduling-to-crm")[0] == 0
    code, out = _cli(hub, "status", "--json")
    assert code == 0, out
    (row,) = json.loads(out)
    assert row["started"][-6:] in ("-06:00", "-05:00")  # America/Chicago, not UTC
    assert row["next_run"][-6:] in ("-06:00", "-05:00")
    assert row["next_run"][14:16] in ("00", "15", "30", "45")  # */15
    code, out = _cli(hub, "status")
    assert "times in America/Chicago" in out
    assert "Next runs (`refsync schedule`): outreach-to-salesforce at" in out


def test_jobs_lists_each_job_with_its_flow_schedule_and_next_run(hub: Hub) -> None:
    code, out = _cli(hub, "jobs")
    assert code == 0, out
    line = next(x for x in out.splitlines() if "scheduling-to-crm" in x)
    assert "epic -> salesforce, hubspot" in line and "*/15 * * * *" in line
    assert line.rstrip(" │").endswith(("-06:00", "-05:00"))


def test_a_plan_shows_updates_in_each_destinations_field_names_with_old_and_new_values(
    hub: Hub,
) -> None:
    write_export(hub, "a.csv", [("1", "REF-1041", "1", "03/05/2024 9:30 AM")])
    assert _cli(hub, "run", "scheduling-to-crm")[0] == 0
    write_export(hub, "b.csv", [("1", "REF-1041", "2", "03/05/2024 9:30 AM")])
    code, out = _cli(hub, "plan", "scheduling-to-crm")
    assert code == 0, out
    (line,) = [x for x in out.splitlines() if "(to salesforce)" in x]
    assert line.strip().startswith("REF-1041 ")
    assert "Stage__c: Scheduled -> Completed" in line
    assert "(to hubspot)" in out
    assert "CANARY" not in out and "00012345" not in out  # PHI never shown
    code, out = _cli(hub, "plan", "scheduling-to-crm", "--json")
    assert any("Stage__c: Scheduled -> Completed" in c for c in json.loads(out)["changes"])
