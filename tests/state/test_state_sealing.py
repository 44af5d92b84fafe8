"""PHI at rest: the patient block, care dates, stage history and free text of a referral are
encrypted in the state file; reads give them back; rotation moves them to a new key."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mapping.errors import StateError
from sync.state import SEALED, StateStore, key_file_for, new_key

NAME = "Zebulon Quillfeather"
MRN = "0048151623"
BIRTH = "1937-02-11"
PHONE = "555-867-5309"
DIAGNOSIS = "Suspected arrhythmia, see MRI"
REASON = "Palpitations since the fall at home"
APPOINTMENT = "2024-03-05T15:30:00+00:00"
CANARIES = [NAME, MRN, BIRTH, PHONE, DIAGNOSIS, REASON, APPOINTMENT, "Quillfeather", "48151623"]


def _referral(n: int) -> dict:
    return {
        "id": f"ref-{n}",
        "referral_number": f"R-{n}",
        "stage": "scheduled",
        "service_line": "cardiology",
        "reason": REASON,
        "appointment_at": APPOINTMENT,
        "decline_reason": None,
        "stage_history": [{"stage": "scheduled", "entered_at": APPOINTMENT, "system": "epic"}],
        "patient": {
            "name": NAME,
            "mrn": MRN,
            "birth_date": BIRTH,
            "phone": PHONE,
            "diagnosis": DIAGNOSIS,
            "payer": None,
            "key": None,
        },
    }


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("REFSYNC_STATE_KEY", raising=False)
    monkeypatch.delenv("REFSYNC_STATE_KEY_FILE", raising=False)
    return f"sqlite:///{tmp_path / 'state.db'}"


def _file_bytes(url: str) -> bytes:
    path = Path(url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as conn:  # fold the WAL into the file first
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return b"".join(p.read_bytes() for p in path.parent.glob("state.db*") if p.suffix != ".key")


def test_the_sealed_fields_are_exactly_the_phi_classes_of_the_model():
    assert SEALED["referral"] == {
        "patient", "reason", "decline_reason", "cancel_reason", "received_at", "appointment_at",
        "completed_at", "loop_closed_at", "stage_history", "events", "referred_at",
        "accepted_at", "scheduled_at", "stage_entered_at", "lost_at",
    }  # fmt: skip
    assert SEALED["partner"] == {"last_referral_at"}
    assert SEALED["clinician"] == SEALED["outreach"] == frozenset()


def test_planted_phi_never_appears_in_the_state_file_but_reads_back_whole(url):
    with StateStore.open(url) as store:
        store.put_records("referral", [(f"ref-{n}", _referral(n), False) for n in range(50)])
        back = store.get_record("referral", "ref-7")
        listed = list(store.iter_records("referral"))
    assert back is not None and back.data == _referral(7)
    assert len(listed) == 50 and all(r.data["patient"]["mrn"] == MRN for r in listed)
    raw = _file_bytes(url)
    assert b"R-7" in raw  # the record is there, in clear where it may be
    assert [c for c in CANARIES if c.encode() in raw] == []
    key_file = key_file_for(url)
    assert key_file is not None and oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_storing_the_same_phi_again_is_no_change(url):
    with StateStore.open(url) as store:
        store.put_records("referral", [("ref-1", _referral(1), False)])
        again = store.put_records("referral", [("ref-1", _referral(1), False)])
        assert again.unchanged == 1 and again.updated == []
        assert store.get_record("referral", "ref-1").version == 1


def test_a_store_opened_with_another_key_refuses_to_read_and_says_which_variable(url):
    with StateStore.open(url) as store:
        store.put_records("referral", [("ref-1", _referral(1), False)])
    other = StateStore.open(url, keys=[new_key()])
    with other, pytest.raises(StateError, match="REFSYNC_STATE_KEY") as caught:
        other.get_record("referral", "ref-1")
    assert MRN not in str(caught.value)


def test_a_store_without_any_key_refuses_to_keep_phi_in_clear(monkeypatch):
    monkeypatch.delenv("REFSYNC_STATE_KEY", raising=False)
    with StateStore.open("sqlite://") as store:
        store.put_records("referral", [("ref-0", {"id": "ref-0", "referral_number": "R-0"}, False)])
        with pytest.raises(StateError, match="no encryption key"):
            store.put_records("referral", [("ref-1", _referral(1), False)])


def test_the_key_can_come_from_the_environment(url, monkeypatch):
    key = new_key()
    monkeypatch.setenv("REFSYNC_STATE_KEY", key)
    with StateStore.open(url) as store:
        store.put_records("referral", [("ref-1", _referral(1), False)])
    assert not key_file_for(url).exists()  # type: ignore[union-attr]
    with StateStore.open(url, keys=[key]) as store:
        assert store.get_record("referral", "ref-1").data == _referral(1)


def test_rotation_reencrypts_every_record_so_the_old_key_is_no_longer_needed(url):
    old = new_key()
    with StateStore.open(url, keys=[old]) as store:
        store.put_records("referral", [(f"ref-{n}", _referral(n), False) for n in range(1200)])
        store.put_records("referral", [("ref-x", {"id": "ref-x", "referral_number": "X"}, False)])
    fresh = new_key()
    with StateStore.open(url, keys=[fresh, old]) as store:
        assert store.reseal_records() == 1200
        version = store.get_record("referral", "ref-3").version
    with StateStore.open(url, keys=[fresh]) as store:
        assert store.check_sealed() == 1200
        record = store.get_record("referral", "ref-1199")
        assert record.data == _referral(1199) and record.version == version
        assert store.find_ids_by_key("referral", "referral_number", ["R-5"]) == {"R-5": "ref-5"}
    with StateStore.open(url, keys=[old]) as store, pytest.raises(StateError):
        store.get_record("referral", "ref-1")
    assert [c for c in CANARIES if c.encode() in _file_bytes(url)] == []


def test_rotation_also_seals_phi_an_older_version_kept_in_clear(url):
    import json

    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with StateStore.open(url) as store:
        store.put_records("referral", [("ref-0", {"id": "ref-0", "referral_number": "R-0"}, False)])
    with engine.begin() as conn:  # what a refsync without encryption left behind
        conn.execute(
            sa.text("UPDATE records SET data = :d WHERE id = 'ref-0'"),
            {"d": json.dumps(_referral(0))},
        )
    engine.dispose()
    assert MRN.encode() in _file_bytes(url)
    with StateStore.open(url) as store:
        assert store.get_record("referral", "ref-0").data == _referral(0)  # still readable
        assert store.reseal_records() == 1
        assert store.get_record("referral", "ref-0").data == _referral(0)
    assert [c for c in CANARIES if c.encode() in _file_bytes(url)] == []


def test_a_record_the_filter_turns_down_is_never_opened(url):
    # Sealed under one key, read with another: opening any of them would raise. The filter
    # sees the clear fields only, and what it turns down is never decrypted.
    with StateStore.open(url) as store:
        rows = [(f"ref-{n}", {**_referral(n), "stage": "cancelled"}, False) for n in range(5)]
        store.put_records("referral", rows)
    with StateStore.open(url, keys=[new_key()]) as other:
        seen: list[dict] = []

        def wanted(data) -> bool:
            seen.append(dict(data))
            return False

        assert list(other.iter_records("referral", where=wanted)) == []
    assert [d["stage"] for d in seen] == ["cancelled"] * 5
    assert all("patient" not in d and MRN not in str(d) for d in seen)  # still sealed


def test_a_destination_sent_no_sealed_field_gets_its_records_unopened(url):
    # Read with another key: any decryption would raise. A de-identified destination's
    # fields are all in clear, so its records come back without the sealed ones.
    with StateStore.open(url) as store:
        store.put_records("referral", [("ref-1", _referral(1), False)])
    with StateStore.open(url, keys=[new_key()]) as other:
        clear = other.records_to_write(
            "crm", "referral", "fp", include_tombstones=False, fields={"id", "stage"}
        )
        ((record, last_hash),) = list(clear)
        assert record.data["stage"] == "scheduled" and last_hash is None
        assert "patient" not in record.data and MRN not in str(record.data)
        sealed = other.records_to_write(
            "crm", "referral", "fp", include_tombstones=False, fields={"id", "appointment_at"}
        )
        with pytest.raises(StateError, match="REFSYNC_STATE_KEY"):
            list(sealed)


def _token(url: str, record_id: str) -> str:
    path = Path(url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as conn:
        (token,) = conn.execute(
            "SELECT json_extract(data, '$.\"$sealed\"') FROM records WHERE id = ?", (record_id,)
        ).fetchone()
    return str(token)


def test_a_new_version_that_changed_only_clear_fields_keeps_its_token(url: str) -> None:
    store = StateStore.open(url)
    store.put_records("referral", [("ref-1", _referral(1), False)])
    before = _token(url, "ref-1")
    read = store.get_records("referral", ["ref-1"])
    moved = {**read["ref-1"].data, "stage": "completed", "received_month": "2024-03"}
    assert store.put_records("referral", [("ref-1", moved, False)], read=read).updated == ["ref-1"]
    assert _token(url, "ref-1") == before  # not encrypted again
    assert store.get_record("referral", "ref-1").data == moved

    read = store.get_records("referral", ["ref-1"])
    treated = {**read["ref-1"].data, "reason": "Chest pain on exertion"}
    store.put_records("referral", [("ref-1", treated, False)], read=read)
    assert _token(url, "ref-1") != before  # its PHI changed: a new token
    assert store.get_record("referral", "ref-1").data == treated
    store.close()


def test_the_search_for_referrals_waiting_for_a_referrer_and_the_prospect_count_open_none(url):
    # Sealed under one key, searched with another: opening any referral would raise.
    from sync.engine.prospects import create_prospects
    from sync.engine.referrers import unlinked_referral_ids

    waiting = {**_referral(1), "referring_npi": "1245319599", "referring_name": "ZIMMER, CARLA"}
    linked = {**_referral(2), "referring_npi": "1003000126", "clinician_id": "cli_1"}
    with StateStore.open(url) as store:
        store.put_records("referral", [("ref-1", waiting, False), ("ref-2", linked, False)])
    with StateStore.open(url, keys=[new_key()]) as other:
        assert unlinked_referral_ids(other) == ["ref-1"]
        assert unlinked_referral_ids(other, ["cli_1"]) == ["ref-1", "ref-2"]  # no practice yet
        made = create_prospects(other, {"1245319599": []}, min_referrals=1)
        assert made.created == {"1245319599": 1}
        [prospect] = other.iter_records("clinician")
        assert (prospect.data["first_name"], prospect.data["last_name"]) == ("Carla", "Zimmer")
