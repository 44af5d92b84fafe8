"""Rejected records are remembered and retried: automatically on the next run, and by
`refsync retry` (which also re-reads the sources from the start)."""

from __future__ import annotations

from typer.testing import CliRunner

from sync.cli import app
from sync.engine.ids import canonical_id
from sync.state import StateStore
from tests.sync.conftest import Hub, sf_stages
from tests.sync.test_end_to_end import write_export


def _open_errors(hub: Hub) -> list:
    store = StateStore.open(hub.state_url)
    try:
        return store.open_errors("scheduling-to-crm")
    finally:
        store.close()


def test_a_record_the_destination_refused_is_retried_on_the_next_run(hub: Hub) -> None:
    write_export(
        hub,
        "a.csv",
        [("1", "REF-1", "1", "03/05/2024 9:30 AM"), ("2", "REF-2", "1", "03/05/2024 9:30 AM")],
    )
    locked = canonical_id("referral", "REF-2")
    hub.sf.faults.lock_rows([locked])  # UNABLE_TO_LOCK_ROW on every attempt
    first = hub.run("scheduling-to-crm")
    assert first.status == "finished with rejected records"
    assert [(r.system, r.key, r.code) for r in first.rejects] == [
        ("salesforce", locked, "UNABLE_TO_LOCK_ROW")
    ]
    errors = _open_errors(hub)
    assert [(e.key, e.attempts) for e in errors] == [(locked, 1)]
    assert set(sf_stages(hub.sf)) == {"REF-1"}

    hub.sf.faults.unlock_rows()
    second = hub.run("scheduling-to-crm")  # no source change: only the rejected record moves
    assert second.status == "ok"
    assert second.written["salesforce/referral/created"] == 1
    assert set(sf_stages(hub.sf)) == {"REF-1", "REF-2"}
    assert _open_errors(hub) == []


def test_refsync_retry_rereads_the_sources_and_writes_nothing_twice(hub: Hub) -> None:
    write_export(hub, "a.csv", [("1", "REF-1", "1", "03/05/2024 9:30 AM")])
    hub.run("scheduling-to-crm")
    before = hub.write_write_calls()
    result = CliRunner().invoke(app, ["retry", "scheduling-to-crm", "--config", str(hub.root)])
    assert result.exit_code == 0, result.output
    assert "read 1" in result.output  # the export was read again from the start
    assert hub.write_write_calls() == before  # and nothing was sent again
