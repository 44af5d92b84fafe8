"""On a shared PostgreSQL state a run holds its job lock for one lease (60 s), renewed by
its own thread, so another machine can take over a dead worker's job within a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.engine.lease import DEFAULT_LEASE_SECONDS
from tests.sync.conftest import Hub
from tests.sync.test_end_to_end import write_export

JOB = "scheduling-to-crm"


@pytest.mark.postgres
def test_a_run_on_postgresql_holds_its_lock_one_lease_at_a_time_and_releases_it(
    hub: Hub, pg_url: str
) -> None:
    hub.state_url = pg_url
    write_export(hub, "a.csv", [(str(i), f"REF-{i}", "1", "03/05/2024 9:30 AM") for i in range(5)])
    engine, runtime, store = hub.engine()
    seen = []
    engine.progress = lambda _phase, _n: seen.append(store.lock_holder(JOB))
    try:
        assert engine.lock_lease == DEFAULT_LEASE_SECONDS < engine.lock_ttl
        report = engine.run(JOB)
        assert report.status == "ok"
        holders = [h for h in seen if h is not None]
        assert holders and all(h.run_id == report.run_id for h in holders)
        lease = timedelta(seconds=DEFAULT_LEASE_SECONDS)
        assert all(h.expires_at - h.heartbeat_at == lease for h in holders)
        assert store.lock_holder(JOB) is None
    finally:
        runtime.close()
        store.close()
