"""A write pass after a complete one diffs only the records that can have changed since (its
write mark's candidates), and lists, writes, counts and acknowledges exactly what a pass over
every record does: two jobs with different mappings on one destination, edits, hub-only
changes, deletions archived or not, records the destination refuses, clocks that jump, go
back or run slow. Through a fake connector and real SQLite state stores (the oracle: the
same steps on a store whose passes are forced whole)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from connectors.base import WriteResult
from mapping.errors import RecordError
from mapping.transforms import TransformContext
from sync.engine.fingerprint import mapping_fingerprint
from sync.engine.report import RunReport
from sync.engine.write_scope import write_scope
from sync.engine.writer import DestinationWriter
from sync.state import StateStore, WriteMark
from tests.sync.test_writer_chunks import MAPPING, _FakeCrm
from tests.sync.test_writer_skips_acknowledged import WITH_PHONE

IDS = [f"par_{i:03d}" for i in range(40)]
# job -> (mapping, archive deletions)
JOBS = {"j": (MAPPING, True), "k": (WITH_PHONE, False)}
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class _Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class _RefusingCrm(_FakeCrm):
    """Refuses to write or archive the ids in ``refused``; records every id it is sent."""

    def __init__(self, refused: set[str]) -> None:
        super().__init__()
        self.refused = refused
        self.sent: list[str] = []

    def upsert(
        self, object_name: str, records: Sequence[Mapping[str, Any]], *, key: str
    ) -> list[WriteResult]:
        self.sent.extend(str(r[key]) for r in records)
        return [self._result(str(r[key])) for r in records]

    def archive(self, object_name: str, ids: Sequence[str], *, key: str) -> list[WriteResult]:
        self.sent.extend(f"archive {i}" for i in ids)
        return [self._result(i) for i in ids]

    def _result(self, key: str) -> WriteResult:
        if key in self.refused:
            return WriteResult(key, error=RecordError("refused", key=key, code="REFUSED"))
        return WriteResult(key, id=f"n-{key}", created=True)


def _open(path: Path, clock: _Clock) -> StateStore:
    store = StateStore.open(f"sqlite:///{path}", clock=clock)
    store.put_records("partner", [(i, {"id": i, "name": i}, False) for i in IDS])
    return store


def _pass(store: StateStore, job: str, refused: set[str]) -> tuple[list[str], dict[str, int]]:
    em, mirror = JOBS[job]
    crm = _RefusingCrm(refused)
    report = RunReport(job=job)
    writer = DestinationWriter(
        store, report, TransformContext(), store.session, 1, dry_run=False, mirror=mirror
    )
    writer.write("crm", "partner", em, crm, lambda _n: None)
    return crm.sent, {k: v for k, v in report.written.items() if v}


def _listed(store: StateStore, job: str, among: list[str] | None) -> list[str]:
    em, mirror = JOBS[job]
    fingerprint = mapping_fingerprint(em, TransformContext())
    rows = store.records_to_write(
        "crm", "partner", fingerprint, include_tombstones=mirror, among=among
    )
    return [rec.id for rec, _ in rows]


def _ledger(store: StateStore) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM write_ledger ORDER BY canonical_id"))
        return [tuple(r) for r in rows]


_some = st.lists(st.sampled_from(IDS), min_size=1, max_size=6, unique=True)


@settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
class _Passes(RuleBasedStateMachine):
    """The same steps on a store whose passes follow their marks and one forced whole."""

    def __init__(self) -> None:
        super().__init__()
        self.scoped_passes = 0

    @initialize()
    def open_stores(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="refsync-marks-")
        self.clock = _Clock()
        self.marked = _open(Path(self.tmp.name) / "marked.db", self.clock)
        self.whole = _open(Path(self.tmp.name) / "whole.db", self.clock)
        self.refused: set[str] = set()
        self.version = 0

    def _put(self, rows: list[tuple[str, dict[str, Any], bool]]) -> None:
        for store in (self.marked, self.whole):
            store.put_records("partner", rows)

    @rule(ids=_some)
    def edit(self, ids: list[str]) -> None:
        self.version += 1
        self._put([(i, {"id": i, "name": f"{i} v{self.version}"}, False) for i in ids])

    @rule(ids=_some)
    def change_a_field_only_one_mapping_sends(self, ids: list[str]) -> None:
        self.version += 1
        self._put([(i, {"id": i, "name": i, "phone": str(self.version)}, False) for i in ids])

    @rule(ids=_some, dead=st.booleans())
    def delete_or_revive(self, ids: list[str], dead: bool) -> None:
        self._put([(i, {"id": i, "name": i}, dead) for i in ids])

    @rule(ids=st.lists(st.sampled_from(IDS), max_size=4, unique=True))
    def destination_refuses(self, ids: list[str]) -> None:
        self.refused = set(ids)

    @rule(minutes=st.sampled_from([1, 4, 6, 90, 60 * 30, -60, -60 * 30]))
    def clock_moves(self, minutes: int) -> None:
        self.clock.now += timedelta(minutes=minutes)

    @rule(job=st.sampled_from(sorted(JOBS)))
    def a_pass(self, job: str) -> None:
        em, mirror = JOBS[job]
        fingerprint = mapping_fingerprint(em, TransformContext())
        scope = write_scope(self.marked, job, "crm", "partner", fingerprint, mirror)
        if scope.among is not None:
            self.scoped_passes += 1
            assert _listed(self.marked, job, scope.among) == _listed(self.marked, job, None)
        self.whole.set_write_mark(job, "crm", "partner", None)
        assert _pass(self.marked, job, self.refused) == _pass(self.whole, job, self.refused)
        assert _ledger(self.marked) == _ledger(self.whole)

    def teardown(self) -> None:
        if hasattr(self, "tmp"):
            self.marked.engine.dispose()
            self.whole.engine.dispose()
            self.tmp.cleanup()


def test_a_pass_that_follows_its_mark_does_what_a_pass_over_every_record_does() -> None:
    _Passes.TestCase().runTest()


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


@pytest.fixture
def store(tmp_path: Path, clock: _Clock) -> StateStore:
    opened = _open(tmp_path / "state.db", clock)
    clock.now += timedelta(hours=1)  # the records were stored well before the first pass
    return opened


def _scope_of(store: StateStore, job: str = "j") -> list[str] | None:
    em, mirror = JOBS[job]
    fingerprint = mapping_fingerprint(em, TransformContext())
    return write_scope(store, job, "crm", "partner", fingerprint, mirror).among


def test_after_a_complete_pass_the_next_one_looks_only_at_what_changed(store, clock):
    assert _scope_of(store) is None  # no mark: every record
    _pass(store, "j", set())
    clock.now += timedelta(hours=2)
    assert _scope_of(store) == []
    store.put_records("partner", [("par_007", {"id": "par_007", "name": "Renamed"}, False)])
    assert _scope_of(store) == ["par_007"]
    sent, counts = _pass(store, "j", set())
    assert sent == ["par_007"]
    assert counts == {"crm/partner/created": 1, "crm/partner/unchanged": 39}


def test_a_refused_record_is_tried_again_on_the_next_pass_though_it_did_not_change(store, clock):
    _pass(store, "j", {"par_003"})
    clock.now += timedelta(hours=2)
    assert _scope_of(store) == ["par_003"]
    sent, counts = _pass(store, "j", set())
    assert sent == ["par_003"]
    assert counts == {"crm/partner/created": 1, "crm/partner/unchanged": 39}
    clock.now += timedelta(hours=2)
    assert _scope_of(store) == []


def test_another_jobs_write_with_another_mapping_is_seen_through_the_ledger(store, clock):
    _pass(store, "j", set())
    clock.now += timedelta(hours=2)
    _, counts = _pass(store, "k", set(IDS[4:]))  # its mapping; it writes only 4 records
    assert counts["crm/partner/created"] == 4
    clock.now += timedelta(hours=2)
    assert _scope_of(store) == IDS[:4]  # no longer as job j's mapping shapes them
    sent, _ = _pass(store, "j", set())
    assert sent == IDS[:4]


def test_a_change_by_a_process_whose_clock_is_behind_is_still_looked_at(store, clock):
    _pass(store, "j", set())
    clock.now += timedelta(hours=2)
    store.put_records("partner", [("par_001", {"id": "par_001", "name": "Renamed"}, False)])
    _pass(store, "j", set())
    clock.now += timedelta(hours=1)
    _pass(store, "j", set())  # nothing to write; its mark is the stamps of par_001
    clock.now -= timedelta(hours=6)  # another process, its clock six hours slow
    store.put_records("partner", [("par_009", {"id": "par_009", "name": "Renamed"}, False)])
    _pass(store, "k", set(IDS[1:]))  # writes par_000 with its own mapping
    clock.now += timedelta(hours=8)
    assert _scope_of(store) == ["par_000", "par_009"]


def test_a_pass_is_whole_when_the_mapping_changes(store, clock):
    _pass(store, "j", set())
    clock.now += timedelta(hours=1)
    assert _scope_of(store) == []
    assert _scope_of(store, "k") is None  # job k never finished a pass
    other = ("j", "crm", "partner")
    mark = store.write_mark(*other)
    assert mark is not None
    moved = WriteMark(mark.watermark, mark.ledger_watermark, "another mapping", mark.retry)
    store.set_write_mark(*other, moved)
    assert _scope_of(store) is None


def test_the_pass_right_after_a_bulk_change_is_whole_one_scan_costs_less(store, clock, caplog):
    _pass(store, "j", set())  # wrote all 40 after its mark: 80 rows stamped since
    clock.now += timedelta(minutes=1)
    em, mirror = JOBS["j"]
    fingerprint = mapping_fingerprint(em, TransformContext())
    with caplog.at_level("INFO", logger="sync.engine.write_scope"):
        assert write_scope(store, "j", "crm", "partner", fingerprint, mirror, bulk=80).among == []
        assert write_scope(store, "j", "crm", "partner", fingerprint, mirror, bulk=0).among is None
    assert caplog.messages == [
        "writes of partner to crm looked at every record: "
        "80 records and ledger rows stamped since the last pass"
    ]


def test_a_plan_leaves_no_mark(store):
    writer = DestinationWriter(
        store, RunReport(job="j"), TransformContext(), store.session, 1, dry_run=True,
        mirror=True,
    )  # fmt: skip
    writer.write("crm", "partner", MAPPING, _RefusingCrm(set()), lambda _n: None)
    assert store.write_mark("j", "crm", "partner") is None
