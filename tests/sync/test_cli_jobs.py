"""The job commands as an admin runs them: exit codes, JSON plans, status and errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sync.cli import app
from sync.state import StateStore
from tests.sync.conftest import Hub
from tests.sync.test_end_to_end import write_export

runner = CliRunner()


def _cli(hub: Hub, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--config", str(hub.root)])
    return result.exit_code, result.output


def test_plan_json_lists_stage_moves_and_writes_for_machines(hub: Hub) -> None:
    write_export(hub, "a.csv", [("1", "REF-1042", "1", "03/05/2024 9:30 AM")])
    result = runner.invoke(app, ["plan", "scheduling-to-crm", "--json", "--config", str(hub.root)])
    assert result.exit_code == 0, result.output
    # JSON alone on stdout; warnings (the sandbox's insecure_http) go to stderr
    plan = json.loads(result.stdout)
    assert "allows plain http://" in result.stderr
    assert plan["dry_run"] is True
    assert plan["transitions"] == ["REF-1042: (new) -> scheduled (from epic)"]
    assert plan["written"]["hubspot/referral/created"] == 1
    assert hub.write_write_calls() == 0


def test_run_exits_0_then_status_and_errors_show_the_run(hub: Hub) -> None:
    write_export(hub, "a.csv", [("1", "REF-1", "2", "03/05/2024 9:30 AM")])
    code, out = _cli(hub, "run", "scheduling-to-crm")
    assert code == 0, out
    assert "scheduling-to-crm: ok" in out
    code, out = _cli(hub, "status")
    assert code == 0 and "scheduling-to-crm" in out
    code, out = _cli(hub, "errors")
    assert code == 0 and "Open record errors (0)" in out


def test_a_run_with_rejected_records_exits_1_and_lists_them(hub: Hub) -> None:
    write_export(hub, "a.csv", [("1", "", "1", "03/05/2024 9:30 AM")])  # no referral number
    code, out = _cli(hub, "run", "scheduling-to-crm")
    assert code == 1, out
    code, out = _cli(hub, "errors", "scheduling-to-crm")
    assert "UNMATCHED" in out


def test_a_second_run_while_one_holds_the_lock_exits_4_naming_the_holder(hub: Hub) -> None:
    store = StateStore.open(hub.state_url)
    run_id = store.start_run("scheduling-to-crm", host="worker-7", pid=1)
    store.acquire_lock("scheduling-to-crm", run_id=run_id, ttl_seconds=600, host="worker-7", pid=1)
    store.close()
    code, out = _cli(hub, "run", "scheduling-to-crm")
    assert code == 4
    assert "worker-7" in out


def test_an_unknown_job_exits_2_listing_the_jobs(hub: Hub) -> None:
    code, out = _cli(hub, "run", "no-such-job")
    assert code == 2
    assert "scheduling-to-crm" in out
