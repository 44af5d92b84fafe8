"""The people files follow the changes: after the first write, a run lists again only the
referrals stored since the last one and keeps every other row of the files, aged at the new
time. The files are byte for byte what a pass over every referral writes, round after
round; anything that makes the kept rows wrong (a file edited, a partner or definition
changed, the clock gone back, a file from another version) writes them whole again."""

from __future__ import annotations

import logging
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scheduling_support import FIXTURES, make_connector

from connectors.base import PeopleFilesChanged
from connectors.scheduling import SchedulingConnector
from connectors.scheduling.new_referrers import NEW_REFERRER_COLUMNS, new_referrer_rows
from connectors.scheduling.reage import keep_rows
from connectors.scheduling.writers import (
    CLOSURE_COLUMNS,
    WORKLIST_COLUMNS,
    SortedRows,
    closure_rows,
    targets_by_service_line,
    worklist_rows,
    write_csv_atomic,
)
from mapping.model import (
    Clinician,
    Partner,
    QualifiedReferralDefinition,
    Referral,
    ServiceTargets,
    Stage,
    StageEvent,
)
from sync.engine.matching import PatientMatcher
from sync.engine.outputs import _contacts, write_outputs
from sync.state import PeopleMark, StateStore
from sync.state._sealing import Sealer, new_key

START = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
KNOWN_NPI, PROSPECT_NPI = "1234567893", "1982736450"
UNKNOWN_NPIS = ("1111111112", "1333333334", "1555555556")
DEFINITIONS = [
    QualifiedReferralDefinition(
        id="card", service_line="cardiology", version="2",
        targets=ServiceTargets(respond_within_hours=48, schedule_within_days=7,
                               close_loop_within_days=14),
    ),
    QualifiedReferralDefinition(
        id="ortho", service_line="orthopedics", version="1",
        targets=ServiceTargets(schedule_within_days=10),
    ),
]  # fmt: skip
FILES = ("scheduling-worklist.csv", "closure.csv", "new-referrers.csv")
N = 300


class Clock:
    """The one time of the store and the connector, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _referral(rng: random.Random, n: int, now: datetime) -> dict[str, Any]:
    stage = rng.choice(list(Stage))
    received = now - timedelta(hours=rng.randint(1, 24 * 60))
    history = [StageEvent(stage=Stage.REFERRED, entered_at=received, system="epic")]
    if stage is not Stage.REFERRED:
        entered = received + timedelta(hours=rng.randint(1, 24 * 20))
        history.append(StageEvent(stage=stage, entered_at=min(entered, now), system="epic"))
    completed = stage is Stage.COMPLETED
    npi = rng.choice((None, KNOWN_NPI, PROSPECT_NPI, *UNKNOWN_NPIS))
    return Referral(
        id=f"ref_{n:04d}",
        referral_number=rng.choice((f"REF-{n}", f"-{n}", f"=R{n}")),  # some look like formulas
        service_line=rng.choice(("cardiology", "orthopedics", " Cardiology", "dermatology", None)),
        partner_id=rng.choice((None, "par_1")),
        clinician_id="cli_1" if npi == KNOWN_NPI and rng.random() < 0.7 else None,
        referring_npi=npi,
        referring_name=rng.choice((None, "Dr. Ada Avery", "AVERY, ADA MD", "Bo Chen")),
        referring_practice=rng.choice((None, "Heart Partners", "Elsewhere Clinic")),
        stage=stage,
        stage_history=history if rng.random() < 0.9 else [],
        received_at=received if rng.random() < 0.8 else None,
        urgency=rng.choice(("routine", "urgent", "stat")),
        completed_at=history[-1].entered_at if completed and rng.random() < 0.7 else None,
        loop_closed_at=now - timedelta(days=1) if completed and rng.random() < 0.3 else None,
    ).model_dump(mode="json")


def _rounds(
    seed: int, clock: Clock, rounds: int = 5
) -> Iterator[list[tuple[str, dict[str, Any], bool]]]:
    """The whole program, then rounds a day and some hours apart: new referrals, edits
    (stage, referrer, loop closed), deletions."""
    rng = random.Random(seed)
    yield [(f"ref_{n:04d}", _referral(rng, n, clock.now), False) for n in range(N)]
    for round_ in range(rounds):
        clock.now += timedelta(days=1, hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
        batch = [(f"ref_{n:04d}", _referral(rng, n, clock.now), rng.random() < 0.1)
                 for n in rng.sample(range(N), 30)]  # fmt: skip
        batch += [(f"ref_{n:04d}", _referral(rng, n, clock.now), False)
                  for n in range(N + round_ * 5, N + round_ * 5 + 5)]  # fmt: skip
        yield batch


def _store(tmp_path: Path, clock: Clock) -> StateStore:
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}", keys=[new_key()], clock=clock)
    _partner(store, "+1 555-0100")  # a phone a spreadsheet would read as a formula
    clinicians = [
        Clinician(id="cli_1", first_name="Ada", last_name="Avery", npi=KNOWN_NPI,
                  partner_id="par_1"),
        Clinician(id="cli_2", first_name="Bo", last_name="Chen", npi=PROSPECT_NPI, prospect=True),
    ]  # fmt: skip
    store.put_records("clinician", [(c.id, c.model_dump(mode="json"), False) for c in clinicians])
    return store


def _partner(store: StateStore, phone: str) -> None:
    partner = Partner(id="par_1", name="-Heart Partners", phone=phone)
    store.put_records("partner", [("par_1", partner.model_dump(mode="json"), False)])


def _connector(out: Path, clock: Clock) -> SchedulingConnector:
    connector = make_connector(FIXTURES, output_dir=out, preset="generic")
    connector.clock = clock
    return connector


class Decrypts:
    """Counts the sealed records opened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        decrypt = Sealer._decrypt

        def counted(sealer: Sealer, entity: str, record_id: str, *args: Any) -> bytes:
            self.count += 1
            return decrypt(sealer, entity, record_id, *args)

        monkeypatch.setattr(Sealer, "_decrypt", counted)


def _write(store: StateStore, connector: SchedulingConnector, clock: Clock, gap: int = 10) -> None:
    """The people files of a run, ``gap`` minutes after it stored its changes."""
    clock.now += timedelta(minutes=gap)
    write_outputs({"scheduling": connector}, store, PatientMatcher(store), DEFINITIONS,
                  changed=True, today=clock.now.date())  # fmt: skip


def _assert_whole_pass_agrees(
    store: StateStore, out: Path, tmp_path: Path, now: datetime, definitions: Any = None
) -> None:
    """The files equal those built from every live referral, opened (an oracle that uses
    none of the code under test but the row functions)."""
    targets = targets_by_service_line(definitions or DEFINITIONS)
    contacts = _contacts(store)
    every = [Referral.model_validate(r.data) for r in store.iter_records("referral")]
    for name, columns, rows in (
        ("scheduling-worklist.csv", WORKLIST_COLUMNS,
         worklist_rows(every, targets, now=now, contacts=contacts)),
        ("closure.csv", CLOSURE_COLUMNS, closure_rows(every, targets, now=now, contacts=contacts)),
        ("new-referrers.csv", NEW_REFERRER_COLUMNS, new_referrer_rows(every, contacts)),
    ):  # fmt: skip
        write_csv_atomic(tmp_path / name, columns, rows)
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name


@pytest.mark.parametrize(("seed", "gap"), [(0, 10), (1, 10), (2, 0), (3, 2)])
def test_files_kept_from_the_changes_equal_a_whole_pass_round_after_round(
    seed: int, gap: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gap``: minutes between a run's changes and its people files (0 and 2: within the
    margin, where the versions the last pass saw tell what changed since)."""
    clock = Clock()
    store = _store(tmp_path, clock)
    out = tmp_path / "out"
    connector = _connector(out, clock)
    decrypts = Decrypts(monkeypatch)
    opened: list[int] = []
    try:
        for batch in _rounds(seed, clock):
            store.put_records("referral", batch)
            decrypts.count = 0
            _write(store, connector, clock, gap)
            opened.append(decrypts.count)
            _assert_whole_pass_agrees(store, out, tmp_path, clock.now)
    finally:
        store.close()
    # The first write opens every listed referral (about half of them); each later one only
    # the referrals of its round (35 at most), the others' rows kept from the files.
    assert opened[0] > 100
    assert all(n <= 35 for n in opened[1:]), opened


def test_a_file_edited_on_disk_is_written_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sync.engine.outputs")
    clock = Clock()
    store = _store(tmp_path, clock)
    out = tmp_path / "out"
    connector = _connector(out, clock)
    decrypts = Decrypts(monkeypatch)
    rounds = _rounds(4, clock)
    try:
        store.put_records("referral", next(rounds))
        _write(store, connector, clock)
        whole = decrypts.count
        closure = out / "closure.csv"
        kept = closure.read_text("utf-8-sig").splitlines(keepends=True)[:-3]  # rows deleted
        closure.write_text("".join(kept), "utf-8")
        store.put_records("referral", next(rounds))
        decrypts.count = 0
        _write(store, connector, clock)
        assert decrypts.count >= whole - 35  # every listed referral opened again
        assert "not the one the last run wrote" in caplog.text  # and the log says why
        _assert_whole_pass_agrees(store, out, tmp_path, clock.now)
    finally:
        store.close()


def test_a_partner_changed_since_writes_the_files_whole(tmp_path: Path) -> None:
    clock = Clock()
    store = _store(tmp_path, clock)
    out = tmp_path / "out"
    connector = _connector(out, clock)
    rounds = _rounds(5, clock)
    try:
        store.put_records("referral", next(rounds))
        _write(store, connector, clock)
        clock.now += timedelta(days=2)
        _partner(store, "555-0199")  # its referrals' rows show the new phone
        _write(store, connector, clock)
        _assert_whole_pass_agrees(store, out, tmp_path, clock.now)
        assert b"555-0199" in (out / "closure.csv").read_bytes()
    finally:
        store.close()


def test_a_store_clock_gone_back_writes_the_files_whole(tmp_path: Path) -> None:
    """Records stored at a time before the mark would not be found as changed since it."""
    clock = Clock()
    store = _store(tmp_path, clock)
    out = tmp_path / "out"
    connector = _connector(out, clock)
    rounds = _rounds(6, clock)
    try:
        store.put_records("referral", next(rounds))
        _write(store, connector, clock)
        batch = next(rounds)
        clock.now -= timedelta(days=30)
        store.put_records("referral", batch)
        _write(store, connector, clock)
        _assert_whole_pass_agrees(store, out, tmp_path, clock.now)
    finally:
        store.close()


def test_a_file_the_connector_cannot_read_back_is_written_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file with the mark's digest but another header (as from another version): the
    connector says so and the engine writes everything."""
    caplog.set_level(logging.INFO, logger="sync.engine.outputs")
    clock = Clock()
    store = _store(tmp_path, clock)
    out = tmp_path / "out"
    connector = _connector(out, clock)
    rounds = _rounds(7, clock)
    try:
        store.put_records("referral", next(rounds))
        _write(store, connector, clock)
        worklist = out / "scheduling-worklist.csv"
        worklist.write_text("referral_number,age\r\nREF-1,3\r\n", encoding="utf-8")
        mark = store.people_mark("scheduling")
        assert mark is not None
        files = {**mark.files, worklist.name: _sha256(worklist)}
        store.set_people_mark("scheduling", PeopleMark(mark.watermark, mark.fingerprint, files))
        store.put_records("referral", next(rounds))
        _write(store, connector, clock)
        assert "scheduling-worklist.csv has another header" in caplog.text
        _assert_whole_pass_agrees(store, out, tmp_path, clock.now)
    finally:
        store.close()


def test_a_definition_changed_since_writes_the_files_whole(tmp_path: Path) -> None:
    clock = Clock()
    store = _store(tmp_path, clock)
    out = tmp_path / "out"
    connector = _connector(out, clock)
    rounds = _rounds(8, clock)
    stricter = [DEFINITIONS[0].model_copy(update={"targets": ServiceTargets(
        respond_within_hours=24, schedule_within_days=3, close_loop_within_days=5)}),
        DEFINITIONS[1]]  # fmt: skip
    try:
        store.put_records("referral", next(rounds))
        _write(store, connector, clock)
        store.put_records("referral", next(rounds))
        clock.now += timedelta(minutes=10)
        write_outputs({"scheduling": connector}, store, PatientMatcher(store), stricter,
                      changed=True, today=clock.now.date())  # fmt: skip
        _assert_whole_pass_agrees(store, out, tmp_path, clock.now, stricter)
    finally:
        store.close()


def test_reading_back_a_file_with_another_header_raises_people_files_changed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "closure.csv"
    path.write_text("referral_id,completed_at\r\nref_1,2026-01-01\r\n", encoding="utf-8")
    with pytest.raises(PeopleFilesChanged, match="another header"):
        keep_rows(path, SortedRows(CLOSURE_COLUMNS), frozenset(), START)


def test_reading_back_a_missing_file_raises_people_files_changed(tmp_path: Path) -> None:
    with pytest.raises(PeopleFilesChanged, match="cannot be read back"):
        keep_rows(tmp_path / "gone.csv", SortedRows(WORKLIST_COLUMNS), frozenset(), START)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_files_copied_to_another_folder_are_still_kept_from_the_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A program folder moved or restored elsewhere: same names, same contents."""
    clock = Clock()
    store = _store(tmp_path, clock)
    rounds = _rounds(9, clock)
    decrypts = Decrypts(monkeypatch)
    try:
        store.put_records("referral", next(rounds))
        _write(store, _connector(tmp_path / "out", clock), clock)
        shutil.copytree(tmp_path / "out", tmp_path / "moved")
        store.put_records("referral", next(rounds))
        decrypts.count = 0
        _write(store, _connector(tmp_path / "moved", clock), clock)
        assert decrypts.count <= 35
        _assert_whole_pass_agrees(store, tmp_path / "moved", tmp_path, clock.now)
    finally:
        store.close()
