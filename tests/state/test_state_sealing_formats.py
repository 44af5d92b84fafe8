"""The sealed PHI token's formats: new tokens are AES-256-GCM (``v2:``) bound to their record,
tokens written by earlier versions (Fernet) still open, and rotation moves them to ``v2:``."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from mapping.errors import StateError
from sync.state import StateStore, new_key
from sync.state._sealing import Sealer

MRN = "0048151623"
NAME = "Zebulon Quillfeather"


def _referral(n: int) -> dict:
    return {
        "id": f"ref-{n}",
        "referral_number": f"R-{n}",
        "stage": "scheduled",
        "reason": "Palpitations since the fall at home",
        "patient": {"name": NAME, "mrn": MRN, "birth_date": "1937-02-11"},
    }


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("REFSYNC_STATE_KEY", raising=False)
    monkeypatch.delenv("REFSYNC_STATE_KEY_FILE", raising=False)
    return f"sqlite:///{tmp_path / 'state.db'}"


def _stored(url: str, record_id: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        text = conn.execute(
            sa.text("SELECT data FROM records WHERE id = :i"), {"i": record_id}
        ).scalar_one()
    engine.dispose()
    return json.loads(text)


def _overwrite(url: str, record_id: str, data: dict) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE records SET data = :d WHERE id = :i"),
            {"d": json.dumps(data), "i": record_id},
        )
    engine.dispose()


def _fernet_sealed(key: str, record: dict) -> dict:
    """``record`` as the previous version of refsync stored it: its PHI in one Fernet token."""
    secret = {k: record[k] for k in ("patient", "reason")}
    clear = {k: v for k, v in record.items() if k not in secret}
    payload = orjson.dumps(secret, option=orjson.OPT_SORT_KEYS)
    clear["$sealed"] = Fernet(key).encrypt(payload).decode("ascii")
    return clear


def test_new_records_are_sealed_in_the_v2_format_without_phi_in_clear(url):
    key = new_key()
    with StateStore.open(url, keys=[key]) as store:
        store.put_records("referral", [("ref-1", _referral(1), False)])
        assert store.get_record("referral", "ref-1").data == _referral(1)
    stored = _stored(url, "ref-1")
    assert stored["$sealed"].startswith("v2:")
    assert "patient" not in stored and MRN not in json.dumps(stored)


def test_a_store_written_in_the_fernet_format_still_opens(url):
    key = new_key()
    with StateStore.open(url, keys=[key]) as store:
        store.put_records("referral", [("ref-1", _referral(1), False)])
    _overwrite(url, "ref-1", _fernet_sealed(key, _referral(1)))
    with StateStore.open(url, keys=[key]) as store:
        assert store.get_record("referral", "ref-1").data == _referral(1)
        assert [r.data for r in store.iter_records("referral")] == [_referral(1)]
        assert store.check_sealed() == 1


def test_rotation_reseals_fernet_tokens_in_the_v2_format_under_the_new_key(url):
    old = new_key()
    with StateStore.open(url, keys=[old]) as store:
        store.put_records("referral", [(f"ref-{n}", _referral(n), False) for n in range(3)])
    _overwrite(url, "ref-1", _fernet_sealed(old, _referral(1)))
    fresh = new_key()
    with StateStore.open(url, keys=[fresh, old]) as store:
        assert store.reseal_records() == 3
    assert all(_stored(url, f"ref-{n}")["$sealed"].startswith("v2:") for n in range(3))
    with StateStore.open(url, keys=[fresh]) as store:
        assert [r.data for r in store.iter_records("referral")] == [_referral(n) for n in range(3)]
    with StateStore.open(url, keys=[old]) as store, pytest.raises(StateError):
        store.get_record("referral", "ref-1")


def test_an_altered_token_is_refused_with_an_error_naming_the_record_and_no_phi(url):
    key = new_key()
    with StateStore.open(url, keys=[key]) as store:
        store.put_records("referral", [("ref-1", _referral(1), False)])
    stored = _stored(url, "ref-1")
    token = stored["$sealed"]
    flipped = "A" if token[20] != "A" else "B"
    _overwrite(url, "ref-1", {**stored, "$sealed": token[:20] + flipped + token[21:]})
    with StateStore.open(url, keys=[key]) as store, pytest.raises(StateError) as caught:
        store.get_record("referral", "ref-1")
    message = str(caught.value)
    assert "referral record ref-1" in message and "altered" in message
    assert MRN not in message and NAME not in message


def test_a_token_copied_onto_another_record_does_not_open(url):
    key = new_key()
    with StateStore.open(url, keys=[key]) as store:
        store.put_records("referral", [(f"ref-{n}", _referral(n), False) for n in (1, 2)])
    moved = {**_stored(url, "ref-2"), "$sealed": _stored(url, "ref-1")["$sealed"]}
    _overwrite(url, "ref-2", moved)
    with StateStore.open(url, keys=[key]) as store:
        assert store.get_record("referral", "ref-1").data == _referral(1)
        with pytest.raises(StateError, match="referral record ref-2 cannot be decrypted"):
            store.get_record("referral", "ref-2")


def test_a_token_sealed_under_a_secondary_key_opens_and_new_seals_use_the_primary(url):
    old, fresh = new_key(), new_key()
    with StateStore.open(url, keys=[old]) as store:
        store.put_records("referral", [("ref-1", _referral(1), False)])
    with StateStore.open(url, keys=[fresh, old]) as store:
        assert store.get_record("referral", "ref-1").data == _referral(1)
        store.put_records("referral", [("ref-2", _referral(2), False)])
    with StateStore.open(url, keys=[fresh]) as store:
        assert store.get_record("referral", "ref-2").data == _referral(2)
        with pytest.raises(StateError, match="ref-1"):
            store.get_record("referral", "ref-1")


def test_falsy_values_are_sealed_and_only_empty_ones_stay_in_clear():
    sealer = Sealer([new_key()])
    data = {"id": "ref-1", "reason": 0, "lost_at": False, "events": [], "patient": {}}
    data |= {"cancel_reason": "", "decline_reason": None, "stage": "scheduled"}

    sealed = sealer.seal("referral", "ref-1", data)

    assert set(sealed) == set(data) - {"reason", "lost_at"} | {"$sealed"}
    assert sealer.unseal("referral", "ref-1", sealed) == data
    assert sealer.closed(sealed) == {k: v for k, v in sealed.items() if k != "$sealed"}


def test_a_new_version_with_the_same_phi_keeps_its_token_and_one_with_other_phi_does_not():
    sealer = Sealer([new_key()])
    first = sealer.seal("referral", "ref-1", _referral(1))
    token = first["$sealed"]

    clear_change = sealer.seal(
        "referral", "ref-1", {**_referral(1), "stage": "completed"}, was=(_referral(1), token)
    )
    phi_change = sealer.seal(
        "referral", "ref-1", {**_referral(1), "reason": "Syncope"}, was=(_referral(1), token)
    )

    assert clear_change == {**first, "stage": "completed"}
    assert phi_change["$sealed"] != token
    assert sealer.unseal("referral", "ref-1", phi_change)["reason"] == "Syncope"
