"""Crash-consistency harness: SIGKILL a `refsync run` at a chosen point, re-run, check.

Used by tests/sync/test_crash_safety.py (small N) and bench/crash_consistency.py (20,000
referrals). The sandboxes run in this process; each run is a real ``python -m sync run``
subprocess. A scenario starts from empty sandboxes and state, kills the first run when its
trigger fires, then runs again to completion:

- ``("at", point)``: the run kills itself exactly at ``point`` (``REFSYNC_CRASH_AT``, see
  :mod:`sync.engine.crashpoint`): ``phase:derive``, ``write:250``...; the way to place a
  kill point where it claims to be;
- ``("seconds", s)``: ``s`` seconds into the run (where it lands depends on the load);
- ``("writes", k)``: once the sandboxes have seen ``k`` write calls.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync.demo import provision_hubspot
from sync.engine.crashpoint import ENV, PHASES
from sync.state import StateStore

__all__ = ["Scenario", "crash_points", "duplicates", "run_cli", "run_scenario"]

Trigger = tuple[str, float | str]


@dataclass
class Scenario:
    trigger: Trigger
    killed: bool
    final_exit: int
    salesforce: int
    hubspot: int
    duplicates: int
    missing: int
    bookmark_ok: bool
    lock_free: bool
    seconds: float


def crash_points(*, reads: int, written: int, count: int = 20) -> list[Trigger]:
    """``count`` kill points over a whole run: every phase boundary, then records read
    (a quarter, a half, three quarters of ``reads``), then records written spread over the
    first 80% of ``written`` (a clean run's total; the last chunks may be unchanged ones)."""
    points: list[Trigger] = [("at", f"phase:{p}") for p in PHASES]
    points += [("at", f"read:{max(1, reads * q // 4)}") for q in (1, 2, 3)]
    rest = count - len(points)
    points += [("at", f"write:{max(1, written * 8 * (i + 1) // (10 * rest))}") for i in range(rest)]
    return points


def _writes(sf: Any, hs: Any) -> int:
    return int(sf.stats.write_calls + hs.stats.write_calls)


def run_cli(
    root: Path, env: dict[str, str], job: str, trigger: Trigger | None, sf: Any, hs: Any
) -> tuple[int, bool]:
    """Run ``refsync run job``; SIGKILL it when ``trigger`` fires. (exit code, was killed)."""
    start_writes = _writes(sf, hs)
    if trigger is not None and trigger[0] == "at":
        env = {**env, ENV: str(trigger[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync", "run", job, "--config", str(root), "--json"],
        env=env,
        stdout=subprocess.PIPE if trigger is None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if trigger is None else subprocess.DEVNULL,
    )
    started = time.monotonic()
    while proc.poll() is None:
        if trigger is not None and trigger[0] != "at":
            kind, value = trigger
            fired = (kind == "writes" and _writes(sf, hs) - start_writes >= value) or (
                kind == "seconds" and time.monotonic() - started >= value
            )
            if fired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return -9, True
        time.sleep(0.002)
    if proc.returncode == -signal.SIGKILL:  # it killed itself at its crash point
        return -9, True
    if proc.returncode and proc.stdout is not None:
        print(proc.stdout.read().decode(errors="replace")[-4000:])
    return proc.returncode, False


def _fresh(root: Path, sf: Any, hs: Any) -> None:
    sf.reset_data()
    sf.stats.reset()
    hs.reset_data()
    hs.stats.reset()
    provision_hubspot(root)
    (root / "state.db").unlink(missing_ok=True)


def run_scenario(
    root: Path,
    env: dict[str, str],
    job: str,
    trigger: Trigger,
    sf: Any,
    hs: Any,
    expected: set[str],
    export_name: str,
) -> Scenario:
    """From empty systems: kill a run at ``trigger``, re-run, and check every invariant."""
    _fresh(root, sf, hs)
    t0 = time.monotonic()
    _, killed = run_cli(root, env, job, trigger, sf, hs)
    final, _ = run_cli(root, env, job, None, sf, hs)
    sf_numbers = [r["Referral_Number__c"] for r in sf.records("Referral__c")]
    hs_numbers = [d["properties"].get("refsync_referral_number") for d in hs.records("deals")]
    store = StateStore.open(f"sqlite:///{root / 'state.db'}")
    try:
        bookmark = store.get_bookmark("epic", "stage_event") or {}
        lock_free = store.lock_holder(job) is None
    finally:
        store.close()
    dupes = len(duplicates(sf_numbers)) + len(duplicates(hs_numbers))
    missing = len(expected - set(sf_numbers)) + len(expected - set(hs_numbers))
    return Scenario(
        trigger,
        killed,
        final,
        len(sf_numbers),
        len(hs_numbers),
        dupes,
        missing,
        export_name in repr(bookmark),
        lock_free,
        time.monotonic() - t0,
    )


def duplicates(values: list[Any]) -> dict[Any, int]:
    return {k: n for k, n in Counter(values).items() if n > 1}
