"""The people files follow the changes: after the first write, a run lists again only the
referrals stored since the last one and keeps every other row of the files, aged at the new
time. The files are byte for byte what a pass over every referral writes, round after
round; anything that makes the kept rows wrong (a file edited, a partner or definition
changed, the clock gone back, a file from another version) writes them whole again."""

from __future__ import annotations

import logging
import os
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from people_support import (
    DEFINITIONS,
    assert_whole_pass_agrees,
    people_connector,
    program_store,
    random_referral,
)

from connectors.base import PeopleFilesChanged
from connectors.scheduling import SchedulingConnector
from connectors.scheduling.reage import keep_rows
from connectors.scheduling.writers import CLOSURE_COLUMNS, WORKLIST_COLUMNS, SortedRows
from mapping.model import Partner, ServiceTargets
from sync.engine.matching import PatientMatcher
from sync.engine.outputs import write_outputs
from sync.state import PeopleMark, StateStore
from sync.state._sealing import Sealer

START = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
N = 300


class Clock:
    """The one time of the store and the connector, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _referral(rng: random.Random, n: int, now: datetime) -> dict[str, Any]:
    return random_referral(rng, n, now, odd_numbers=True)


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
    return program_store(tmp_path, clock=clock, partner=_partner("+1 555-0100"))  # a formula


def _partner(phone: str) -> Partner:
    return Partner(id="par_1", name="-Heart Partners", phone=phone)


def _connector(out: Path, clock: Clock) -> SchedulingConnector:
    return people_connector(out, clock)


class Decrypts:
    """Counts the sealed records opened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        decrypt = Sealer._decrypt

        def counted(sealer: Sealer, entity: str, record_id: str, *args: Any) -> bytes:
            self.count += 1
            return decrypt(sealer, entity, record_id, *args)

        monkeypatch.setattr(Sealer, "_decrypt", counted)


class Program:
    """A program's store, clock and scheduling connection writing its people files to
    ``out``, with the random rounds of ``seed``."""

    def __init__(self, tmp_path: Path, seed: int) -> None:
        self.tmp_path, self.clock = tmp_path, Clock()
        self.store = _store(tmp_path, self.clock)
        self.out = tmp_path / "out"
        self.connector = _connector(self.out, self.clock)
        self.rounds = _rounds(seed, self.clock)

    def store_round(self) -> None:
        self.store.put_records("referral", next(self.rounds))

    def write(self, gap: int = 10, definitions: Any = None) -> None:
        """The people files of a run, ``gap`` minutes after it stored its changes."""
        self.clock.now += timedelta(minutes=gap)
        write_outputs({"scheduling": self.connector}, self.store, PatientMatcher(self.store),
                      definitions or DEFINITIONS, changed=True, today=self.clock.now.date())  # fmt: skip

    def assert_whole_pass_agrees(self, definitions: Any = None) -> None:
        assert_whole_pass_agrees(self.store, self.out, self.tmp_path, self.clock.now,
                                 definitions or DEFINITIONS)  # fmt: skip


@pytest.fixture
def program(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Program]:
    made = Program(tmp_path, getattr(request, "param", 4))
    try:
        yield made
    finally:
        made.store.close()


@pytest.mark.parametrize(
    ("program", "gap"), [(0, 10), (1, 10), (2, 0), (3, 2)], indirect=["program"]
)
def test_files_kept_from_the_changes_equal_a_whole_pass_round_after_round(
    program: Program, gap: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gap``: minutes between a run's changes and its people files (0 and 2: within the
    margin, where the versions the last pass saw tell what changed since)."""
    decrypts = Decrypts(monkeypatch)
    opened: list[int] = []
    for _ in range(6):
        program.store_round()
        decrypts.count = 0
        program.write(gap)
        opened.append(decrypts.count)
        program.assert_whole_pass_agrees()
    # The first write opens every listed referral (about half of them); each later one only
    # the referrals of its round (35 at most), the others' rows kept from the files.
    assert opened[0] > 100
    assert all(n <= 35 for n in opened[1:]), opened


def _completed(rng: random.Random, n: int, now: datetime) -> dict[str, Any]:
    """A completed referral (most with the loop open: on the closure list), its number one
    a spreadsheet would run now and then, but none that needs quotes."""
    while (data := random_referral(rng, n, now))["stage"] != "completed":
        pass
    if rng.random() < 0.1:
        data["referral_number"] = f"=R{n}"
    return data


@pytest.mark.parametrize("seed", [11, 12])
def test_a_long_closure_list_kept_minutes_apart_equals_a_whole_pass(
    tmp_path: Path, seed: int
) -> None:
    """Runs minutes apart age few rows: the rows that still show their age are kept as
    read and the others placed among them by a binary search (one sort when many move)."""
    clock, rng = Clock(), random.Random(seed)
    store = _store(tmp_path, clock)
    out, connector = tmp_path / "out", _connector(tmp_path / "out", clock)
    program = {"scheduling": connector}
    try:
        store.put_records("referral", [(f"ref_{n:04d}", _completed(rng, n, clock.now), False)
                                       for n in range(400)])  # fmt: skip
        for round_ in range(10):
            clock.now += timedelta(minutes=rng.randint(5, 90))
            picked = rng.sample(range(400), rng.choice((1, 2, 40)))
            store.put_records("referral", [(f"ref_{n:04d}", _completed(rng, n, clock.now),
                                            rng.random() < 0.2) for n in picked])  # fmt: skip
            write_outputs(program, store, PatientMatcher(store), DEFINITIONS, changed=True,
                          today=clock.now.date())  # fmt: skip
            assert_whole_pass_agrees(store, out, tmp_path, clock.now, DEFINITIONS)
            assert round_ == 0 or store.people_mark("scheduling") is not None
    finally:
        store.close()


def test_referrals_stored_by_a_run_that_wrote_no_files_are_listed_by_the_next_run(
    program: Program,
) -> None:
    """A run that failed after storing its changes (a CRM refused its writes) leaves the
    files behind, and so does a write that did not finish; the next run reads nothing new,
    changes nothing, and still writes them again. Then a run with nothing stored since
    writes nothing."""
    program.store_round()
    program.write()
    program.store_round()  # stored; the run failed before its people files
    program.clock.now += timedelta(minutes=10)

    def run_without_changes() -> list[Path]:
        return write_outputs({"scheduling": program.connector}, program.store,
                             PatientMatcher(program.store), DEFINITIONS, changed=False,
                             today=program.clock.now.date())  # fmt: skip

    assert run_without_changes()
    program.assert_whole_pass_agrees()
    assert run_without_changes() == []
    program.store.set_people_mark("scheduling", None)  # as a write that did not finish
    assert run_without_changes()
    assert run_without_changes() == []


def test_a_file_edited_on_disk_is_written_whole(
    program: Program, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sync.engine.outputs")
    decrypts = Decrypts(monkeypatch)
    program.store_round()
    program.write()
    whole = decrypts.count
    closure = program.out / "closure.csv"
    kept = closure.read_text("utf-8-sig").splitlines(keepends=True)[:-3]  # rows deleted
    closure.write_text("".join(kept), "utf-8")
    program.store_round()
    decrypts.count = 0
    program.write()
    assert decrypts.count >= whole - 35  # every listed referral opened again
    assert "not the one the last run wrote" in caplog.text  # and the log says why
    program.assert_whole_pass_agrees()


def test_more_than_half_the_referrals_changed_writes_the_files_whole_and_says_so(
    program: Program, caplog: pytest.LogCaptureFixture
) -> None:
    """One pass over the store costs less than fetching most of it by id."""
    caplog.set_level(logging.INFO, logger="sync.engine.outputs")
    program.store_round()
    program.write()

    def change(count: int) -> None:
        program.clock.now += timedelta(days=1)
        practice = f"Moved {program.clock.now:%d}"
        program.store.put_records("referral", [
            (r.id, r.data | {"referring_practice": practice}, False)
            for r in program.store.iter_records("referral")
        ][:count])  # fmt: skip
        caplog.clear()
        program.write()

    change(N // 2)  # exactly half: kept from the changes
    assert "written whole" not in caplog.text
    change(N // 2 + 1)
    assert f"written whole: {N // 2 + 1} of {N} referrals changed" in caplog.text
    program.assert_whole_pass_agrees()


def test_a_partner_changed_since_writes_the_files_whole(program: Program) -> None:
    program.store_round()
    program.write()
    program.clock.now += timedelta(days=2)
    partner = _partner("555-0199")  # its referrals' rows show the new phone
    program.store.put_records("partner", [("par_1", partner.model_dump(mode="json"), False)])
    program.write()
    program.assert_whole_pass_agrees()
    assert b"555-0199" in (program.out / "closure.csv").read_bytes()


def test_a_partner_whose_rollups_alone_changed_keeps_the_files_from_the_changes(
    program: Program, caplog: pytest.LogCaptureFixture
) -> None:
    """A program whose referrals link to partners has their rollups recomputed on most runs;
    no row shows them, so they do not make a run write the files whole."""
    caplog.set_level(logging.INFO, logger="sync.engine.outputs")
    program.store_round()
    program.write()
    rolled = _partner("+1 555-0100").model_dump(mode="json") | {
        "referrals_total": 311, "acceptance_rate": 42.5, "derived_status": "active"}  # fmt: skip
    program.store.put_records("partner", [("par_1", rolled, False)])
    program.store_round()
    caplog.clear()
    program.write()
    assert "written whole" not in caplog.text
    program.assert_whole_pass_agrees()


def test_a_store_clock_gone_back_writes_the_files_whole(program: Program) -> None:
    """Records stored at a time before the mark would not be found as changed since it."""
    program.store_round()
    program.write()
    program.clock.now -= timedelta(days=30)
    program.store_round()
    program.write()
    program.assert_whole_pass_agrees()


def test_a_file_the_connector_cannot_read_back_is_written_whole(
    program: Program, caplog: pytest.LogCaptureFixture
) -> None:
    """A file with the mark's stamp but another header (as from another version): the
    connector says so and the engine writes everything."""
    caplog.set_level(logging.INFO, logger="sync.engine.outputs")
    program.store_round()
    program.write()
    worklist = program.out / "scheduling-worklist.csv"
    worklist.write_text("referral_number,age\r\nREF-1,3\r\n", encoding="utf-8")
    mark = program.store.people_mark("scheduling")
    assert mark is not None
    stat = worklist.stat()
    files = {**mark.files, worklist.name: f"{stat.st_size}:{stat.st_mtime_ns}"}
    program.store.set_people_mark("scheduling", PeopleMark(mark.watermark, mark.fingerprint, files))
    program.store_round()
    program.write()
    assert "scheduling-worklist.csv has another header" in caplog.text
    program.assert_whole_pass_agrees()


def test_a_definition_changed_since_writes_the_files_whole(program: Program) -> None:
    stricter = [DEFINITIONS[0].model_copy(update={"targets": ServiceTargets(
        respond_within_hours=24, schedule_within_days=3, close_loop_within_days=5)}),
        DEFINITIONS[1]]  # fmt: skip
    program.store_round()
    program.write()
    program.store_round()
    program.write(definitions=stricter)
    program.assert_whole_pass_agrees(stricter)


def test_a_file_rewritten_at_once_with_the_same_size_is_written_whole(
    program: Program, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit keeping the file's size, in the same clock tick as the run that wrote it
    (or the same second, on a file system that keeps times to the second): it gets the
    time the run's write got."""
    decrypts = Decrypts(monkeypatch)
    written: dict[str, int] = {}
    write = program.connector.write_people_files

    def noting_times(lists: Any) -> list[Path]:
        paths = write(lists)
        written.update({path.name: path.stat().st_mtime_ns for path in paths})
        return paths

    monkeypatch.setattr(program.connector, "write_people_files", noting_times)
    program.store_round()
    program.write()
    closure = program.out / "closure.csv"
    data = bytearray(closure.read_bytes())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")  # a character of the last row
    closure.write_bytes(bytes(data))
    os.utime(closure, ns=(closure.stat().st_atime_ns, written["closure.csv"]))
    program.store_round()
    decrypts.count = 0
    program.write()
    assert decrypts.count > 35  # every listed referral opened again
    program.assert_whole_pass_agrees()


def test_a_file_copied_without_its_time_is_written_whole_and_then_kept(
    program: Program, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``cp`` without ``-p``: the contents may be the same, but nothing says so without
    reading them; written whole once, then kept again."""
    caplog.set_level(logging.INFO, logger="sync.engine.outputs")
    decrypts = Decrypts(monkeypatch)
    program.store_round()
    program.write()
    moved = program.tmp_path / "moved"
    shutil.copytree(program.out, moved, copy_function=shutil.copyfile)
    program.out, program.connector = moved, _connector(moved, program.clock)
    program.store_round()
    program.write()
    assert "not the one the last run wrote" in caplog.text
    program.store_round()
    decrypts.count = 0
    program.write()
    assert decrypts.count <= 35
    program.assert_whole_pass_agrees()


def test_files_copied_to_another_folder_are_still_kept_from_the_changes(
    program: Program, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A program folder moved or restored elsewhere: same names, same contents."""
    decrypts = Decrypts(monkeypatch)
    program.store_round()
    program.write()
    moved = program.tmp_path / "moved"
    shutil.copytree(program.out, moved)
    program.out, program.connector = moved, _connector(moved, program.clock)
    program.store_round()
    decrypts.count = 0
    program.write()
    assert decrypts.count <= 35
    program.assert_whole_pass_agrees()


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
