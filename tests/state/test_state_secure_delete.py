"""What SQLite frees leaves no PHI behind: secure_delete zeroes freed cells and pages, and a
rotation drops the WAL's page images of what it re-encrypted. The files are read as a copy
off the machine would find them: the database, its WAL and shared memory, no checkpoint."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from sync.state import StateStore, new_key

MRNS = [f"00{4815162342 + n}" for n in range(60)]
NAME = "Zebulon Quillfeather"


def _referral(n: int) -> dict:
    return {
        "id": f"ref-{n}",
        "referral_number": f"R-{n}",
        "reason": f"Palpitations, {NAME} asked to wait",
        "patient": {"name": NAME, "mrn": MRNS[n], "birth_date": "1937-02-11"},
    }


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("REFSYNC_STATE_KEY", raising=False)
    monkeypatch.delenv("REFSYNC_STATE_KEY_FILE", raising=False)
    return f"sqlite:///{tmp_path / 'state.db'}"


def _as_copied(url: str) -> bytes:
    """Every state file as it sits on disk (no checkpoint first), key file excluded."""
    path = Path(url.removeprefix("sqlite:///"))
    return b"".join(
        p.read_bytes() for p in sorted(path.parent.glob("state.db*")) if p.suffix != ".key"
    )


def _canaries(raw: bytes) -> list[str]:
    return [c for c in [NAME, "Quillfeather", *MRNS] if c.encode() in raw]


def test_every_connection_of_the_state_store_has_secure_delete_on(url):
    with StateStore.open(url) as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


def test_sealed_phi_never_reaches_the_wal_or_the_database_file(url):
    with StateStore.open(url) as store:
        store.put_records("referral", [(f"ref-{n}", _referral(n), False) for n in range(60)])
        raw = _as_copied(url)  # while the store is open: the WAL is not folded in yet
    assert b"R-59" in raw  # the records are there
    assert _canaries(raw) == []


def test_phi_an_older_version_kept_in_clear_leaves_no_trace_on_disk_after_rotation(url):
    with StateStore.open(url) as store:
        store.put_records(
            "referral",
            [
                (f"ref-{n}", {"id": f"ref-{n}", "referral_number": f"R-{n}"}, False)
                for n in range(60)
            ],
        )
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # what a refsync without encryption left behind
        for n in range(60):
            conn.execute(
                sa.text("UPDATE records SET data = :d WHERE id = :i"),
                {"d": json.dumps(_referral(n)), "i": f"ref-{n}"},
            )
    engine.dispose()
    assert len(_canaries(_as_copied(url))) == 62  # in clear: the test can fail
    old = Path(url.removeprefix("sqlite:///") + ".key").read_text().strip()
    with StateStore.open(url, keys=[new_key(), old]) as store:
        assert store.reseal_records() == 60
        assert _canaries(_as_copied(url)) == []  # before any close folds the WAL in
        assert store.get_record("referral", "ref-7").data == _referral(7)


def test_a_deleted_row_is_zeroed_not_left_in_a_free_page(url):
    """SQLite itself: with secure_delete off the deleted text stays in the file."""
    path = Path(url.removeprefix("sqlite:///"))
    for setting, survives in (("OFF", True), ("ON", False)):
        path.unlink(missing_ok=True)
        with sqlite3.connect(path) as conn:
            conn.execute(f"PRAGMA secure_delete={setting}")
            conn.execute("CREATE TABLE t (v TEXT)")
            conn.executemany("INSERT INTO t VALUES (?)", [(NAME * 40,) for _ in range(50)])
            conn.commit()
            conn.execute("DELETE FROM t")
            conn.commit()
        conn.close()
        assert (NAME.encode() in path.read_bytes()) is survives, setting
