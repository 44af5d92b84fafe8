"""What an on-call engineer sees through the CLI (issue 16): a killed run shows as
interrupted after the job's next run, and a connection allowed plain HTTP warns every time."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys

from typer.testing import CliRunner

from sync.cli import app
from sync.state import StateStore

JOB = "partners-to-hubspot"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _invoke(hub, *args: str):
    return CliRunner().invoke(app, [*args, "--config", str(hub.root)])


def test_a_run_killed_mid_job_shows_interrupted_after_the_next_run(hub):
    store = StateStore.open(hub.state_url)
    pid = _dead_pid()
    killed = store.start_run(JOB, host=socket.gethostname(), pid=pid)
    store.acquire_lock(JOB, run_id=killed, ttl_seconds=3600, host=socket.gethostname(), pid=pid)
    store.close()
    before = json.loads(_invoke(hub, "status", "--json").output)
    assert [r["status"] for r in before if r["run"] == killed] == ["running"]

    result = _invoke(hub, "run", JOB, "--json")
    assert result.exit_code == 0, result.output

    after = json.loads(_invoke(hub, "status", "--json").output)
    statuses = {r["run"]: r["status"] for r in after}
    assert statuses[killed] == "interrupted"
    assert sorted(statuses.values()) == ["interrupted", "ok"]


def test_insecure_http_is_warned_on_every_plan_and_run(hub, caplog):
    caplog.set_level(logging.WARNING)
    hub.plan(JOB)
    hub.run(JOB)
    hub.run(JOB)
    warnings = [r.getMessage() for r in caplog.records if "allows plain http://" in r.getMessage()]
    assert len(warnings) == 3
    assert all("connection 'hubspot'" in w and "refsync.yaml:" in w for w in warnings)
