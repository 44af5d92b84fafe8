"""`refsync schedule` runs due jobs at once (catch-up), then stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sync.state import StateStore
from tests.sync.conftest import Hub
from tests.sync.test_end_to_end import write_export


def _runs(hub: Hub) -> list:
    store = StateStore.open(hub.state_url)
    try:
        return store.last_runs("scheduling-to-crm", limit=10)
    finally:
        store.close()


def test_schedule_catches_up_a_never_run_job_and_stops_on_sigterm(hub: Hub) -> None:
    write_export(hub, "a.csv", [("1", "REF-5", "1", "03/05/2024 9:30 AM")])
    hub.edit_config(lambda d: d["jobs"].__delitem__("partners-to-hubspot"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync", "schedule", "--config", str(hub.root)],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300  # a hang guard, not a speed check
        while time.monotonic() < deadline and not any(r.status == "ok" for r in _runs(hub)):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
        assert [r.status for r in _runs(hub)] == ["ok"]
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "stopped; running jobs finished" in out
    assert len(_runs(hub)) == 1  # one catch-up run, not one per missed tick
