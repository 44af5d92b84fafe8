"""Crash consistency: SIGKILL a run at 20 exact points, then re-run.

Run: ``python bench/crash_consistency.py [--n 4000] [--points 20]`` (at least 8 points: the
phase boundaries and read points come first)

The issue's fault test (issue 7) with the harness of ``tests/sync/crash.py``: a baseline
``refsync run scheduling-to-crm`` (a real ``python -m sync run`` subprocess against both CRM
sandboxes in this process) tells how many records a whole run reads and writes; the kill
points are placed by progress, not time (``REFSYNC_CRASH_AT``, :mod:`sync.engine.crashpoint`:
the run kills itself there), so each lands where it claims on any load: every phase
boundary (before read, derive, write, bookmark commit, outputs), three points in the read
phase (a quarter, half, three quarters of the records read) and the rest spread over the
write phase (by records written and recorded). Each scenario starts from empty systems and
state, kills the first run with SIGKILL at its point, runs again to completion, and checks:

- the re-run exits 0; Salesforce and HubSpot each hold exactly N referrals;
- no referral number appears twice in either CRM, none is missing;
- the export's bookmark is committed; the job's lock is free.

Prints one line per scenario as it finishes, then a table (with the records the killed run
and its re-run wrote beyond what one clean run writes: the work a crash costs) and a
summary line. Exits
non-zero if any invariant fails in any scenario (or the baseline run fails).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _engine import JOB, Systems, systems
from rich.console import Console
from rich.table import Table

from tests.sync.crash import Scenario, Trigger, crash_points, run_cli, run_scenario

_EXPORT = "big.csv"
_CONSOLE = Console(width=180)


def _written(s: Systems) -> int:
    return int(s.sf.stats.records_written + s.hs.stats.records_written)


def _baseline(s: Systems) -> tuple[int, int, float]:
    """One whole run from empty systems: (write calls, records written, seconds)."""
    s.fresh()
    started = time.monotonic()
    code, _ = run_cli(s.root, s.env, JOB, None, s.sf, s.hs)
    seconds = time.monotonic() - started
    if code != 0:
        raise SystemExit(f"the baseline run failed with exit code {code}")
    return int(s.sf.stats.write_calls + s.hs.stats.write_calls), _written(s), seconds


def _problems(r: Scenario, n: int) -> list[str]:
    checks = {
        "the run ended before its kill point": r.killed,
        f"re-run exit {r.final_exit}": r.final_exit == 0,
        f"Salesforce holds {r.salesforce}": r.salesforce == n,
        f"HubSpot holds {r.hubspot}": r.hubspot == n,
        f"{r.duplicates} duplicates": r.duplicates == 0,
        f"{r.missing} missing": r.missing == 0,
        "bookmark not committed": r.bookmark_ok,
        "lock still held": r.lock_free,
    }
    return [what for what, ok in checks.items() if not ok]


def _describe(trigger: Trigger) -> str:
    kind, value = trigger
    if kind == "at":
        where, _, amount = str(value).partition(":")
        if where == "phase":
            return f"before the {amount} phase"
        return f"after {int(amount):,} records {'read' if where == 'read' else 'written'}"
    return f"after {value} write calls" if kind == "writes" else f"at {float(value):.2f} s"


def _print_table(results: list[Scenario], resent: list[int], n: int) -> None:
    table = Table(title=f"SIGKILL then re-run, {n:,} referrals (job {JOB})")
    for col in (
        "#", "kill point", "killed?", "final exit", "Salesforce", "HubSpot", "duplicates",
        "missing", "bookmark ok", "lock free", "records re-sent", "seconds", "problems",
    ):  # fmt: skip
        table.add_column(col, justify="left" if col in ("kill point", "problems") else "right")
    for i, (r, again) in enumerate(zip(results, resent, strict=True), 1):
        table.add_row(
            str(i), _describe(r.trigger), "yes" if r.killed else "no (finished first)",
            str(r.final_exit), f"{r.salesforce:,}", f"{r.hubspot:,}", str(r.duplicates),
            str(r.missing), "yes" if r.bookmark_ok else "NO", "yes" if r.lock_free else "NO",
            f"{again:,}", f"{r.seconds:.1f}", "; ".join(_problems(r, n)) or "-",
        )  # fmt: skip
    _CONSOLE.print(table)


def _run_all(
    s: Systems, triggers: list[Trigger], n: int, baseline_records: int
) -> tuple[list[Scenario], list[int]]:
    """Every scenario; also the records each killed run + re-run wrote beyond one clean run."""
    expected = {f"REF-{1040 + i}" for i in range(n)}
    results, resent = [], []
    for i, trigger in enumerate(triggers, 1):
        r = run_scenario(s.root, s.env, JOB, trigger, s.sf, s.hs, expected, _EXPORT)
        results.append(r)
        resent.append(_written(s) - baseline_records)
        verdict = "; ".join(_problems(r, n)) or "ok"
        print(
            f"[{i}/{len(triggers)}] {_describe(trigger)}: killed={r.killed} "
            f"exit={r.final_exit} sf={r.salesforce} hs={r.hubspot} re-sent={resent[-1]} "
            f"{r.seconds:.1f}s -> {verdict}",
            flush=True,
        )
    return results, resent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=4_000)
    parser.add_argument("--points", type=int, default=20)
    args = parser.parse_args()
    started = time.monotonic()
    with systems() as s:
        s.write_export(_EXPORT, args.n)
        writes, records, seconds = _baseline(s)
        print(f"baseline: {args.n:,} referrals, {writes} write calls, {seconds:.1f} s", flush=True)
        triggers = crash_points(reads=args.n, written=records, count=args.points)
        results, resent = _run_all(s, triggers, args.n, records)
    _print_table(results, resent, args.n)
    failed = [r for r in results if _problems(r, args.n)]
    killed = sum(r.killed for r in results)
    _CONSOLE.print(
        f"{len(results)} scenarios, {killed} killed mid-run, {len(failed)} with a broken "
        f"invariant; baseline {writes} write calls in {seconds:.1f} s; "
        f"total {time.monotonic() - started:.0f} s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
