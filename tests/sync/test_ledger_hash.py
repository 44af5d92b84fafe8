"""The write ledger's content hash stays what it was when it was computed with ``json``: a
ledger written before compares equal, so an unchanged record is not written again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mapping.model import Stage
from sync.engine.fingerprint import ledger_hash

FINGERPRINT = "f" * 64


def _historic(fingerprint: str, data: dict[str, Any], keys: frozenset[str]) -> str:
    """The ledger hash as refsync first wrote it (kept here verbatim, never imported)."""
    sent = {k: data.get(k) for k in keys}
    text = json.dumps(sent, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{fingerprint}\x1f{text}".encode()).hexdigest()


def _outcome(fn: Callable[[], str]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception as exc:
        return "raised", type(exc)


_TEXT = st.text(st.characters(codec=None), max_size=8)  # any code point, lone surrogates too
_FLOATS = st.floats() | st.sampled_from([1e-05, -1e-07, 1e-4, 1e16, 1e300, 5e-324, -0.0])
_SCALARS = st.none() | st.booleans() | st.integers() | st.integers(2**62, 2**66) | _FLOATS | _TEXT
_JSONISH = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(_TEXT, inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=600, deadline=None)
@given(data=st.dictionaries(_TEXT, _JSONISH, max_size=6), extra=st.sets(_TEXT, max_size=2))
def test_any_json_like_record_hashes_as_the_json_ledger_did(
    data: dict[str, Any], extra: set[str]
) -> None:
    keys = frozenset(data) | frozenset(extra)  # a key the record lacks is sent as null
    expected = _outcome(lambda: _historic(FINGERPRINT, data, keys))
    assert _outcome(lambda: ledger_hash(FINGERPRINT, data, keys)) == expected


@given(value=st.sampled_from([Stage.COMPLETED, {1: "a"}, {"a": {2: "b"}}, [Stage.REFERRED]]))
def test_values_json_spells_its_own_way_hash_as_the_json_ledger_did(value: Any) -> None:
    data = {"id": "r-1", "v": value}
    keys = frozenset(data)
    expected = _outcome(lambda: _historic(FINGERPRINT, data, keys))
    assert _outcome(lambda: ledger_hash(FINGERPRINT, data, keys)) == expected


def test_a_ledger_written_before_still_matches_these_records() -> None:
    # Hashes computed by the json-based function before orjson was used.
    record = {
        "id": "r-1",
        "stage": "completed",
        "rate": 1e-05,
        "n": None,
        "name": "Ünïcode 🙂",
        "lines": ["a", "b"],
        "big": 2**70,
    }
    assert (
        ledger_hash(FINGERPRINT, record, frozenset(record))
        == "a89d8d568ef94a57e89fdae18ef09368eee6435675d40862c5fb9e33f026bcb0"
    )
    assert (
        ledger_hash(
            FINGERPRINT,
            {"id": "r-1", "rate": 0.5, "ok": True},
            frozenset({"id", "rate", "ok", "missing"}),
        )
        == "c9fdabb7da47b8b0fd6169acee30c47802f6312dad3ca256e7cbe5e936426e48"
    )
