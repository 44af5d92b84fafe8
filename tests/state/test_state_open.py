"""Opening the store: migrations, file mode, URLs and error messages."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from mapping.errors import StateError
from sync.state import StateStore
from sync.state._engine import HEAD_REVISION
from sync.state._schema import metadata

EXPECTED_TABLES = {
    "alembic_version",
    "bookmarks",
    "conflicts",
    "crosswalk",
    "job_locks",
    "record_counts",
    "record_errors",
    "record_keys",
    "records",
    "runs",
    "store_meta",
    "write_ledger",
    "read_hashes",
    "people_marks",
    "people_seen",
    "referrer_mentions",
    "referrer_tallies",
    "write_marks",
    "write_retries",
}


def _tables(store: StateStore) -> set[str]:
    return set(sa.inspect(store.engine).get_table_names())


def test_first_open_creates_every_table_at_the_head_revision(store):
    assert _tables(store) == EXPECTED_TABLES
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == (
            "0008_record_counts"
        )


def test_migrated_schema_matches_the_table_definitions(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_reopening_keeps_data_and_runs_no_migration_again(state_url, clock):
    first = StateStore.open(state_url, clock=clock)
    first.put_records("partner", [("p1", {"name": "Lakeside"}, False)])
    first.close()
    second = StateStore.open(state_url, clock=clock)
    try:
        assert second.get_record("partner", "p1").data == {"name": "Lakeside"}
        with second.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        second.close()


def test_the_head_revision_named_in_the_code_is_the_newest_migration():
    config = Config()
    config.set_main_option("script_location", "sync.state:migrations")
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_a_store_already_at_the_head_opens_without_importing_alembic(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    StateStore.open(url, clock=clock).close()
    script = (
        "import sys\n"
        "from sync.state import StateStore\n"
        f"StateStore.open({url!r}).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_two_processes_opening_a_fresh_database_at_once_both_succeed(state_url, clock):
    barrier = threading.Barrier(2)
    opened, failures = [], []

    def _open() -> None:
        barrier.wait()
        try:
            opened.append(StateStore.open(state_url, clock=clock))
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=_open) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert failures == []
        assert _tables(opened[0]) == EXPECTED_TABLES
        # Both agreed on one hashing key.
        assert opened[0].keyed_hash("x") == opened[1].keyed_hash("x")
    finally:
        for s in opened:
            s.close()


def test_keyed_hash_is_stable_per_store_and_differs_between_stores(state_url, tmp_path, clock):
    first = StateStore.open(state_url, clock=clock)
    again = StateStore.open(state_url, clock=clock)
    other = StateStore.open(f"sqlite:///{tmp_path / 'other.db'}", clock=clock)
    try:
        assert first.keyed_hash("1985-02-03") == again.keyed_hash("1985-02-03")
        assert first.keyed_hash("1985-02-03") != other.keyed_hash("1985-02-03")
        assert "1985" not in first.keyed_hash("1985-02-03")
    finally:
        for s in (first, again, other):
            s.close()


def test_new_sqlite_file_is_private_to_its_owner(tmp_path, clock):
    path = tmp_path / "state.db"
    old_umask = os.umask(0o022)
    try:
        store = StateStore.open(f"sqlite:///{path}", clock=clock)
    finally:
        os.umask(old_umask)
    try:
        store.put_records("partner", [("p1", {"name": "x"}, False)])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        # SQLite gives its WAL and shared-memory files the database file's mode.
        sides = sorted(p.name for p in path.parent.glob("state.db-*"))
        assert sides == ["state.db-shm", "state.db-wal"]
        for name in sides:
            assert stat.S_IMODE((path.parent / name).stat().st_mode) == 0o600, name
    finally:
        store.close()


def test_sqlite_in_a_missing_directory_is_a_state_error_naming_it(tmp_path, clock):
    missing = tmp_path / "nope"
    with pytest.raises(StateError, match="nope"):
        StateStore.open(f"sqlite:///{missing / 'state.db'}", clock=clock)


def test_unreachable_postgres_is_a_state_error_without_the_password(clock):
    url = "postgresql+psycopg://refsync:s3cret-pw@127.0.0.1:1/state?connect_timeout=2"
    with pytest.raises(StateError) as caught:
        StateStore.open(url, clock=clock)
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert "127.0.0.1:1" in message
    assert "REFSYNC_STATE_URL" in message


def test_unsupported_or_malformed_urls_are_state_errors(clock):
    with pytest.raises(StateError, match="mysql"):
        StateStore.open("mysql://u:pw@localhost/db", clock=clock)
    with pytest.raises(StateError, match="not a database URL"):
        StateStore.open("not a url", clock=clock)


def test_a_naive_clock_is_refused(state_url):
    store = StateStore.open(state_url, clock=lambda: datetime(2026, 1, 1))
    try:
        with pytest.raises(StateError, match="naive"):
            store.set_bookmark("epic", "appointments", {"since": "x"})
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_tables_and_alembic_version_land_in_the_search_path_schema(pg_url, clock):
    schema = pg_url.rsplit("%3D", 1)[1]
    store = StateStore.open(pg_url, clock=clock)
    try:
        with store.engine.connect() as conn:
            names = set(
                conn.execute(
                    sa.text(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
                    ),
                    {"s": schema},
                ).scalars()
            )
        assert names == EXPECTED_TABLES
    finally:
        store.close()


def test_a_database_from_a_newer_refsync_is_refused_with_the_fix(state_url, clock):
    StateStore.open(state_url, clock=clock).close()
    engine = sa.create_engine(state_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(StateError, match="upgrade refsync"):
        StateStore.open(state_url, clock=clock)
