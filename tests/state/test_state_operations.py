"""State an on-call engineer can operate (issue 16): interrupted runs, SQLite's reason,
`refsync state check|backup|restore` through the CLI with their exit codes."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mapping.errors import StateError
from sync.cli import app
from sync.state import StateStore

NOT_SQLITE = b"this is a spreadsheet export that someone saved over state.db\n" * 20


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def store(url: str):
    store = StateStore.open(url)
    yield store
    store.close()


def _runs(url: str) -> list[tuple[int, str]]:
    with StateStore.open(url) as store:
        return [(r.id, r.status) for r in store.last_runs(limit=50)]


def test_older_running_runs_of_the_job_are_marked_interrupted_and_no_others(store):
    dead = store.start_run("job-a", host="h", pid=1)
    other_job = store.start_run("job-b", host="h", pid=1)
    current = store.start_run("job-a", host="h", pid=2)
    newer = store.start_run("job-a", host="h", pid=3)
    assert store.interrupt_runs("job-a", before=current) == [dead]
    statuses = {r.id: r.status for r in store.last_runs(limit=10)}
    assert statuses == {
        dead: "interrupted",
        other_job: "running",
        current: "running",
        newer: "running",
    }
    assert next(r for r in store.last_runs(limit=10) if r.id == dead).finished_at is not None
    assert store.interrupt_runs("job-a", before=current) == []


def test_a_file_that_is_not_a_database_is_refused_with_sqlites_reason(tmp_path):
    path = tmp_path / "state.db"
    path.write_bytes(NOT_SQLITE)
    with pytest.raises(StateError) as info:
        StateStore.open(f"sqlite:///{path}")
    assert "DatabaseError: file is not a database" in info.value.message
    assert "refsync state restore" in info.value.message
    assert info.value.exit_code == 4


def test_state_check_of_a_healthy_store_lists_runs_and_exits_zero(store, url):
    run = store.start_run("job-a", host="h", pid=1)
    store.finish_run(run, "succeeded", {})
    orphan = store.start_run("job-a", host="h", pid=1)
    result = invoke("state", "check", "--state", url)
    assert result.exit_code == 0, result.output
    assert "1 running, 1 succeeded" in result.output
    assert f"run {orphan} of job-a on h: still 'running' but holds no lock" in result.output
    assert "state is usable" in result.output


def test_state_check_of_a_damaged_file_exits_4_with_sqlites_reason(tmp_path):
    path = tmp_path / "state.db"
    path.write_bytes(NOT_SQLITE)
    result = invoke("state", "check", "--state", f"sqlite:///{path}")
    assert result.exit_code == 4
    assert "file is not a database" in result.output
    assert path.read_bytes() == NOT_SQLITE  # check never repairs or migrates


def test_state_check_of_a_missing_file_exits_4_and_creates_nothing(tmp_path):
    path = tmp_path / "state.db"
    result = invoke("state", "check", "--state", f"sqlite:///{path}")
    assert result.exit_code == 4 and "does not exist" in result.output
    assert not path.exists()


def test_a_backup_is_a_private_consistent_copy_that_checks_clean(store, url, tmp_path):
    run = store.start_run("job-a", host="h", pid=1)
    store.finish_run(run, "succeeded", {})
    target = tmp_path / "backup.db"
    result = invoke("state", "backup", str(target), "--state", url)
    assert result.exit_code == 0, result.output
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert _runs(f"sqlite:///{target}") == [(run, "succeeded")]
    assert invoke("state", "check", "--state", f"sqlite:///{target}").exit_code == 0


def test_a_backup_never_overwrites_an_existing_file(store, url, tmp_path):
    target = tmp_path / "backup.db"
    target.write_text("keep me")
    result = invoke("state", "backup", str(target), "--state", url)
    assert result.exit_code == 2 and "already exists" in result.output
    assert target.read_text() == "keep me"


def test_restore_brings_the_backup_back_and_keeps_the_replaced_state(store, url, tmp_path):
    before = store.start_run("job-a", host="h", pid=1)
    store.finish_run(before, "succeeded", {})
    target = tmp_path / "backup.db"
    assert invoke("state", "backup", str(target), "--state", url).exit_code == 0
    after = store.start_run("job-a", host="h", pid=1)
    store.finish_run(after, "failed", {})
    store.close()
    result = invoke("state", "restore", str(target), "--state", url)
    assert result.exit_code == 0, result.output
    assert _runs(url) == [(before, "succeeded")]
    (kept,) = tmp_path.glob("state.db.before-restore-*")
    assert kept.name in result.output.replace("\n", "")
    assert _runs(f"sqlite:///{kept}") == [(after, "failed"), (before, "succeeded")]


def test_restore_replaces_a_damaged_state_and_keeps_the_damaged_file(store, url, tmp_path):
    run = store.start_run("job-a", host="h", pid=1)
    store.finish_run(run, "succeeded", {})
    target = tmp_path / "backup.db"
    assert invoke("state", "backup", str(target), "--state", url).exit_code == 0
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp_path / 'state.db'}{suffix}").unlink(missing_ok=True)
    (tmp_path / "state.db").write_bytes(NOT_SQLITE)
    result = invoke("state", "restore", str(target), "--state", url)
    assert result.exit_code == 0, result.output
    assert _runs(url) == [(run, "succeeded")]
    (kept,) = tmp_path.glob("state.db.before-restore-*")
    assert kept.read_bytes() == NOT_SQLITE


def test_restore_is_refused_while_a_run_holds_a_lock(store, url, tmp_path):
    target = tmp_path / "backup.db"
    assert invoke("state", "backup", str(target), "--state", url).exit_code == 0
    run = store.start_run("job-a", host="worker-7", pid=4242)
    store.acquire_lock("job-a", run_id=run, ttl_seconds=600, host="worker-7", pid=4242)
    result = invoke("state", "restore", str(target), "--state", url)
    assert result.exit_code == 4
    assert "job-a: held by run" in result.output and "worker-7" in result.output
    assert _runs(url) == [(run, "running")]


def test_restore_from_a_file_that_is_not_a_refsync_state_changes_nothing(store, url, tmp_path):
    run = store.start_run("job-a", host="h", pid=1)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(NOT_SQLITE)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    for source, reason in ((garbage, "file is not a database"), (other, "not a refsync state")):
        result = invoke("state", "restore", str(source), "--state", url)
        assert result.exit_code == 4, result.output
        assert reason in result.output
    assert _runs(url) == [(run, "running")]
    assert list(tmp_path.glob("state.db.before-restore-*")) == []


@pytest.mark.parametrize(("command", "tool"), [("backup", "pg_dump"), ("restore", "pg_restore")])
def test_postgresql_state_is_pointed_at_its_own_tools(tmp_path, command, tool):
    (tmp_path / "x.dump").write_bytes(b"")
    target = tmp_path / ("new.dump" if command == "backup" else "x.dump")
    url = "postgresql+psycopg://refsync@db.invalid/refsync"
    result = invoke("state", command, str(target), "--state", url)
    assert result.exit_code == 2
    assert tool in result.output


def test_state_check_reads_runs_and_locks_on_either_backend(state_url):
    with StateStore.open(state_url) as store:
        done = store.start_run("job-a", host="h", pid=1)
        store.finish_run(done, "succeeded", {})
        live = store.start_run("job-a", host="worker-7", pid=4242)
        store.acquire_lock("job-a", run_id=live, ttl_seconds=600, host="worker-7", pid=4242)
    result = invoke("state", "check", "--state", state_url)
    assert result.exit_code == 0, result.output
    assert "1 running, 1 succeeded" in result.output
    assert f"job-a: held by run {live} on worker-7" in result.output
    assert "holds no lock" not in result.output
