"""A run killed with SIGKILL at 20 different points is finished by the next run: nothing
lost, nothing duplicated, bookmarks consistent, lock released.

The same harness runs 20,000 referrals in bench/crash_consistency.py; here N is small so the
suite stays fast (REFSYNC_CRASH_N overrides it).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from sync.demo import write_epic_export
from tests.sync.conftest import Hub
from tests.sync.crash import crash_points, run_cli, run_scenario

N = int(os.environ.get("REFSYNC_CRASH_N", "600"))


@pytest.mark.slow
@pytest.mark.timeout(1800)  # 41 CLI runs; a hang guard sized for a loaded 2-core machine
def test_sigkill_at_twenty_points_then_rerun_loses_nothing_and_duplicates_nothing(hub: Hub) -> None:
    """Failure catalogue: C3."""
    write_epic_export(hub.root / "exports" / "epic" / "big.csv", N, datetime.now(UTC))
    env = dict(os.environ)
    expected = {f"REF-{1040 + i}" for i in range(N)}
    # A baseline run tells how many records a whole run writes; the kill points spread
    # across its phases, placed by progress (the run kills itself there), not by time.
    hub.sf.stats.reset()
    hub.hs.stats.reset()
    code, _ = run_cli(hub.root, env, "scheduling-to-crm", None, hub.sf, hub.hs)
    assert code == 0
    written = hub.sf.stats.records_written + hub.hs.stats.records_written
    triggers = crash_points(reads=N, written=written)
    assert len(triggers) == 20

    results = [
        run_scenario(hub.root, env, "scheduling-to-crm", t, hub.sf, hub.hs, expected, "big.csv")
        for t in triggers
    ]

    # Every kill lands where it claims: the run never finishes before its crash point.
    assert [r.trigger for r in results if not r.killed] == []
    for r in results:
        assert (r.final_exit, r.duplicates, r.missing) == (0, 0, 0), r
        assert (r.salesforce, r.hubspot) == (N, N), r
        assert r.bookmark_ok and r.lock_free, r
