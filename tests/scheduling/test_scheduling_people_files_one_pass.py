"""The people files (worklist, closure, new referrers) come from one pass over the store that
opens each open or completed referral once: the files are byte for byte those the earlier
code wrote (three passes, each file opening every candidate again), over random sequences of
changes, and a referral none of the files can list stays sealed."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from people_support import (
    DEFINITIONS,
    FILES,
    assert_whole_pass_agrees,
    people_connector,
    program_store,
    random_referral,
)

from connectors.scheduling import SchedulingConnector
from sync.engine.matching import PatientMatcher
from sync.engine.outputs import write_outputs
from sync.state import StateStore
from sync.state._sealing import Sealer

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)

# sha256 of (worklist, closure, new referrers) after each write of _sequence(seed), made by
# the three-pass code this one replaced (commit 4060922), over the same store contents.
PINNED = {
    0: [
        (
            "abdc2dfca5f73bf85390ed979ad3b1b8915069bb56b694db6369d2a9cc4fc3e8",
            "85d4c166ccacb788c313ac242357c38e01e8ea96be5037d89ba4d75e3e8b6f2e",
            "9a29b68942e91b4bd86bb7fc795919ecdd38a8756b98e2fbef6b8dfb6702125a",
        ),
        (
            "bb627de32532c8f2ed9873986502dc23be1584ea90dfca7f42c569df2a7c1c49",
            "a93812390abba08d99635612db7ba7db83f90403c9526041877be000c6177923",
            "8268b3e003aaa2a880b5af11f34e432bc75a25c58b9d9d2c01176418f7d0c065",
        ),
        (
            "6901d56915be622a737feee670118a2264e078b462bbb5605bcd04618ebe9e43",
            "de1db70cab26ad8612a4cc532d4281b13200ca7fce253c1c1e10c522f839240c",
            "e6bc9f18e3c034092a8266a97123ee4983d1a36e34199739ece896bbff52eeba",
        ),
        (
            "ab8776d803df560d5a87b61d56abf013bd98cc2b14ebe4078278b96e2a8c6e56",
            "b4d13b7b70c2b4a99755507744364c2b6229675a28522fcd8455f54d4c0dfbe6",
            "126adb9743ae3e0d02b97bbce4f6dd216cefd25e461897c108011a1e93c2fce2",
        ),
        (
            "e7626fdfe6ddb87b99814b847c64007949311d7f67bc9a39bf4926b76037875f",
            "da049bf42f42a0ce7d6e01edd6655d6edb459cadc64298a643ae0f7e9960af95",
            "eafcb5cd925c860c2e9fc18d21115c3584d36741387c9d6df2ef8db2606b7c2c",
        ),
    ],
    1: [
        (
            "90f76318395bbbe0e80138212f33d948374e59684c8689c0d4ceb6bf8f5a2f84",
            "3f40e48a27b3d0c12b1d9c76eddfa6a1614ca0da3ad7fcb53356428d8eb34175",
            "497dd2a624610e1dcc226657eb8fc2d8ae185a204b6714f255c9010ec2d93a94",
        ),
        (
            "cfed33595c498529d1277d3ecbb3a3880892b19e37042793eeffab0f67b92d6b",
            "70e938e01da4bc7a3dadd54658b9f8b8234ba722d9b13d30a1f18161b779dc86",
            "935c90dc1d4a229942860a28823f2eacf1bb1736043888d15c39472a4c470981",
        ),
        (
            "8c61e7a3ab583c85af08e2915527e639df52fdc952bc1e2e3e2b3dcca7089591",
            "bd0a5875933638addc5295cdf54f0dcba5e3699adf2655b89456feecd5a9e32e",
            "2604a2b3eb7bb1c4ee26768b83091d5eefef77b60655233ac05ac1523f24c12f",
        ),
        (
            "ee52b10df1ed96a23adfbd7f57957d9163887be24ce53b1146e10f1304574f68",
            "2ff1f83ac777d9f83ebfc7964aa9f7aec9c61d9496230c52604d3bfd0787cbb6",
            "d3458795a19e080283411a34a8216368e45e3d82270f0a7beef67086556ce04c",
        ),
        (
            "452459c117a9ab3d3429b9878d6a1b9d4148a0b585784518b8e2ea085eb4868d",
            "787c3015ba6f93514da5dec31aa87881acfdf01af2da12f5ff36bbb2c86f01fc",
            "036f0420046f2fb832ed6b21f382730af1350b37c475689dea646c5ddf7bdfc3",
        ),
    ],
}


def _referral(rng: random.Random, n: int) -> dict[str, Any]:
    return random_referral(rng, n, NOW)


def _sequence(seed: int, rounds: int = 4) -> Iterator[list[tuple[str, dict[str, Any], bool]]]:
    """The whole program, then rounds of changes: new referrals, edits (stage, referrer,
    loop closed), deletions."""
    rng = random.Random(seed)
    live = {f"ref_{n:04d}": _referral(rng, n) for n in range(300)}
    yield [(rid, data, False) for rid, data in live.items()]
    for round_ in range(rounds):
        batch: list[tuple[str, dict[str, Any], bool]] = []
        for rid in rng.sample(sorted(live), 40):
            fresh = _referral(rng, int(rid[4:]))
            live[rid] = fresh
            batch.append((rid, fresh, rng.random() < 0.1))
        for n in range(300 + round_ * 10, 310 + round_ * 10):
            live[f"ref_{n:04d}"] = _referral(rng, n)
            batch.append((f"ref_{n:04d}", live[f"ref_{n:04d}"], False))
        yield batch


def _store(tmp_path: Path) -> StateStore:
    return program_store(tmp_path)


def _connector(out: Path) -> SchedulingConnector:
    return people_connector(out, lambda: NOW)


def _digests(seed: int, tmp_path: Path) -> list[list[str]]:
    store = _store(tmp_path)
    connector = _connector(tmp_path / "out")
    found = []
    try:
        for batch in _sequence(seed):
            store.put_records("referral", batch)
            write_outputs({"scheduling": connector}, store, PatientMatcher(store), DEFINITIONS,
                          changed=True, today=NOW.date())  # fmt: skip
            found.append([
                hashlib.sha256((tmp_path / "out" / name).read_bytes()).hexdigest()
                for name in FILES
            ])  # fmt: skip
    finally:
        store.close()
    return found


@pytest.mark.parametrize("seed", sorted(PINNED))
def test_the_people_files_are_byte_for_byte_those_of_the_three_pass_code(
    seed: int, tmp_path: Path
) -> None:
    assert _digests(seed, tmp_path) == [list(trio) for trio in PINNED[seed]]


def test_the_files_equal_those_built_from_every_referral_opened_after_each_change(
    tmp_path: Path,
) -> None:
    """An oracle that opens everything: the lists built from every live referral, sealed
    fields and all, are the files' rows (what the one pass leaves out loses nothing)."""
    store = _store(tmp_path)
    connector = _connector(tmp_path / "out")
    try:
        for batch in _sequence(7):
            store.put_records("referral", batch)
            write_outputs({"scheduling": connector}, store, PatientMatcher(store), DEFINITIONS,
                          changed=True, today=NOW.date())  # fmt: skip
            assert_whole_pass_agrees(store, tmp_path / "out", tmp_path, NOW)
    finally:
        store.close()


def test_each_open_or_completed_referral_is_decrypted_once_and_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    connector = _connector(tmp_path / "out")
    opened: list[str] = []
    decrypt = Sealer._decrypt

    def counted(self: Sealer, entity: str, record_id: str, *args: Any) -> bytes:
        opened.append(record_id)
        return decrypt(self, entity, record_id, *args)

    try:
        for batch in _sequence(3, rounds=1):
            store.put_records("referral", batch)
        listed = {"referred", "intake_received", "accepted", "completed"}
        expected = sorted(r.id for r in store.iter_records("referral", fields=("stage",))
                          if r.data["stage"] in listed and r.sealed)  # fmt: skip
        settled_unknown = [
            r.id for r in store.iter_records("referral", fields=("stage", "referring_npi"))
            if r.data["stage"] not in listed and r.data.get("referring_npi") and r.sealed
        ]  # fmt: skip
        monkeypatch.setattr(Sealer, "_decrypt", counted)
        write_outputs({"scheduling": connector}, store, PatientMatcher(store), DEFINITIONS,
                      changed=True, today=NOW.date())  # fmt: skip
    finally:
        store.close()
    assert settled_unknown  # kept for the new referrers list, read without decryption
    assert opened == expected
