"""The closure list kept from its bytes: runs less than a few hours apart read only the rows
whose completion's time of day lies between the two runs and the rows of the referrals that
changed; the file written is byte for byte what a pass over every referral writes. Anything
the scan does not cover (a cell in quotes, a completion not in UTC or missing, a gap of
more than a few hours) reads every row, as before."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from people_support import DEFINITIONS

from connectors.scheduling.closurescan import WINDOW, _ids, _window
from connectors.scheduling.reage import keep_rows
from connectors.scheduling.writers import (
    CLOSURE_COLUMNS,
    SortedRows,
    people_rows,
    targets_by_service_line,
    write_closure_csv,
)
from mapping.model import Referral, Stage

TARGETS = targets_by_service_line(DEFINITIONS)
T0 = datetime(2026, 3, 2, 21, 40, 17, tzinfo=UTC)


def _referral(n: int, completed: datetime | None, *, number: str | None = None) -> Referral:
    return Referral(
        id=f"ref_{n:05d}", referral_number=number or f"REF-{n}",
        service_line=("cardiology", "orthopedics", None)[n % 3], stage=Stage.COMPLETED,
        completed_at=completed,
    )  # fmt: skip


def _completed(rng: random.Random, now: datetime) -> datetime:
    """A completion up to 40 days before ``now``, to the microsecond now and then."""
    at = now - timedelta(seconds=rng.randint(0, 40 * 86400))
    return at.replace(microsecond=rng.choice((0, 0, rng.randint(1, 999_999))))


class ClosureList:
    """Referrals on a closure list written whole at ``T0``; ``change`` moves some on."""

    def __init__(self, tmp_path: Path, rng: random.Random, n: int) -> None:
        self.rng, self.path = rng, tmp_path / "closure.csv"
        self.referrals = {r.id: r for r in (_referral(i, _completed(rng, T0)) for i in range(n))}
        write_closure_csv(self.path, self._listed(), TARGETS, now=T0)

    def _listed(self) -> list[Referral]:
        return [self.referrals[i] for i in sorted(self.referrals)]

    def change(self, k: int, now: datetime) -> frozenset[str]:
        """``k`` referrals changed (loop closed, completed again, new) by ``now``."""
        changed = set()
        for i in self.rng.sample(sorted(self.referrals), k):
            old, changed = self.referrals[i], changed | {i}
            if self.rng.random() < 0.4:
                self.referrals[i] = old.model_copy(update={"loop_closed_at": now})
            else:
                self.referrals[i] = old.model_copy(
                    update={"completed_at": _completed(self.rng, now)}
                )
        for n in range(len(self.referrals), len(self.referrals) + k // 2 + 1):
            self.referrals[f"ref_{n:05d}"] = _referral(n, now - timedelta(minutes=1))
            changed.add(f"ref_{n:05d}")
        return frozenset(changed | {"ref_gone"})  # a changed id not listed

    def kept(self, changed: frozenset[str], now: datetime, out: Path) -> int:
        """The list written at ``now`` from the file and the changed referrals (as the
        connector writes it); the rows read back."""
        rows = SortedRows(CLOSURE_COLUMNS)
        read = keep_rows(self.path, rows, changed, now)
        listable = [self.referrals[i] for i in sorted(changed) if i in self.referrals]
        people_rows(listable, TARGETS, now=now, into=(SortedRows(CLOSURE_COLUMNS), rows))
        rows.write(out)
        return read

    def assert_whole_pass_agrees(self, written: Path, now: datetime) -> None:
        whole = written.with_name("whole.csv")
        write_closure_csv(whole, self._listed(), TARGETS, now=now)
        assert written.read_bytes() == whole.read_bytes()


@pytest.mark.parametrize("seed", range(6))
def test_runs_hours_apart_read_few_rows_and_write_what_a_whole_pass_writes(
    tmp_path: Path, seed: int
) -> None:
    """Some gaps are long enough for so many rows to move that every row is read."""
    rng = random.Random(seed)
    listing = ClosureList(tmp_path, rng, 6000)
    now = T0
    for _ in range(5):  # across midnight UTC, and on into the next day
        gap = rng.choice((0, 1, 90, 400, 600, 3600, 4 * 3600))
        now += timedelta(seconds=rng.randint(0, gap))
        changed = listing.change(rng.choice((1, 5, 20)), now)
        out = tmp_path / "out.csv"
        read = listing.kept(changed, now, out)
        listing.assert_whole_pass_agrees(out, now)
        if gap <= 600:
            assert read < 6000 * 0.05, read  # the rows of the window and the changes
        out.replace(listing.path)


def test_a_gap_longer_than_the_window_reads_every_row(tmp_path: Path) -> None:
    listing = ClosureList(tmp_path, random.Random(7), 500)
    now = T0 + WINDOW + timedelta(seconds=1)
    changed = listing.change(5, now)
    assert listing.kept(changed, now, tmp_path / "out.csv") == 500
    listing.assert_whole_pass_agrees(tmp_path / "out.csv", now)


def test_a_row_in_quotes_reads_every_row(tmp_path: Path) -> None:
    listing = ClosureList(tmp_path, random.Random(8), 6000)
    listing.referrals["ref_00007"] = _referral(7, T0 - timedelta(days=2), number='R7, "b"')
    write_closure_csv(listing.path, listing._listed(), TARGETS, now=T0)
    now = T0 + timedelta(minutes=2)
    changed = listing.change(3, now)
    assert listing.kept(changed, now, tmp_path / "out.csv") == 6000
    listing.assert_whole_pass_agrees(tmp_path / "out.csv", now)


@pytest.mark.parametrize("shape", ["offset", "blank"])
def test_a_completion_stored_in_another_zone_or_none_is_listed_in_utc_and_kept_by_the_scan(
    tmp_path: Path, shape: str
) -> None:
    """The row in Chicago time turns a day older between the runs, at a time of day its
    own zone would not show in the window; the list shows it in UTC."""
    listing = ClosureList(tmp_path, random.Random(9), 6000)
    turning = T0 - timedelta(days=2) + timedelta(seconds=61)
    other = None if shape == "blank" else turning.astimezone(timezone(timedelta(hours=-6)))
    listing.referrals["ref_00003"] = _referral(3, other)
    write_closure_csv(listing.path, listing._listed(), TARGETS, now=T0)
    assert b"-06:00" not in listing.path.read_bytes()
    now = T0 + timedelta(minutes=2)
    changed = listing.change(3, now)
    assert listing.kept(changed, now, tmp_path / "out.csv") < 6000 * 0.05
    listing.assert_whole_pass_agrees(tmp_path / "out.csv", now)


def test_a_file_with_a_completion_not_in_utc_reads_every_row(tmp_path: Path) -> None:
    """Only a file of an earlier format has one (the engine writes those whole first)."""
    listing = ClosureList(tmp_path, random.Random(13), 200)
    text = listing.path.read_bytes().decode("utf-8")
    row = next(line for line in text.split("\r\n") if "ref_00005" in line)
    utc = datetime.fromisoformat(row.split(",")[-5])
    chicago = row.replace(
        utc.isoformat(), utc.astimezone(timezone(timedelta(hours=-6))).isoformat()
    )
    listing.path.write_text(text.replace(row, chicago), "utf-8", newline="")
    now = T0 + timedelta(minutes=2)
    assert listing.kept(frozenset(), now, tmp_path / "out.csv") == 200


def test_a_row_whose_age_turns_one_second_after_the_last_run_is_aged_again(
    tmp_path: Path,
) -> None:
    """The window starts at a time no later than the last run's, bounded from the rows
    themselves: a completion a second after that run's time of day is read."""
    listing = ClosureList(tmp_path, random.Random(10), 2000)
    edge = T0 - timedelta(days=3) + timedelta(seconds=1)
    listing.referrals["ref_00012"] = _referral(12, edge)  # cardiology: 14 days to close
    write_closure_csv(listing.path, listing._listed(), TARGETS, now=T0)
    assert b"REF-12,ref_00012,cardiology" in listing.path.read_bytes()
    now = T0 + timedelta(seconds=2)
    assert listing.kept(frozenset(), now, tmp_path / "out.csv") < 100
    listing.assert_whole_pass_agrees(tmp_path / "out.csv", now)
    assert f",{edge.isoformat()},3,14,-11,on_track".encode() in (tmp_path / "out.csv").read_bytes()


@settings(max_examples=300, deadline=None)
@given(
    since=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
    gap=st.integers(min_value=0, max_value=int(WINDOW.total_seconds())),
    completed=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31)),
)
def test_the_window_finds_every_completion_whose_time_of_day_lies_between_two_runs(
    since: datetime, gap: int, completed: datetime
) -> None:
    since, completed = since.replace(tzinfo=UTC), completed.replace(tzinfo=UTC)
    now = since + timedelta(seconds=gap)
    aged_then, aged_now = (since - completed).days, (now - completed).days
    found = _window(since, now).search(completed.isoformat().encode()) is not None
    if aged_then != aged_now:
        assert found
    minute = completed.replace(second=0, microsecond=0)
    if not found:  # nor any completion of that minute of the day
        assert all((since - m).days == (now - m).days
                   for m in (minute, minute + timedelta(seconds=59.999999)))  # fmt: skip


@given(st.sets(st.from_regex(r"[a-z_=+\-.0-9]{1,30}", fullmatch=True), min_size=1, max_size=60))
def test_the_changed_ids_pattern_finds_each_id_after_a_comma(ids: set[str]) -> None:
    pattern = _ids(ids)
    for i in ids:
        assert pattern.search(f"REF-1,{i},cardiology".encode())
