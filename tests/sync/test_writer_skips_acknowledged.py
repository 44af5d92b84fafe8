"""A destination that acknowledged a record's stored version under the same mapping is not
asked again, and the record is not even opened (its PHI is sealed: opening costs a
decryption). Through a fake connector and a real SQLite state store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from connectors.base import WriteResult
from mapping.spec import EntityMapping
from mapping.transforms import TransformContext
from sync.engine.fingerprint import mapping_fingerprint
from sync.engine.report import RunReport
from sync.engine.writer import DestinationWriter
from sync.state import StateStore
from tests.sync.test_writer_chunks import MAPPING, _FakeCrm


class _ArchivingCrm(_FakeCrm):
    def archive(self, object_name: str, ids: Sequence[str], *, key: str) -> list[WriteResult]:
        self.calls.append(-len(ids))
        return [WriteResult(i) for i in ids]


IDS = [f"par_{i:04d}" for i in range(250)]
WITH_PHONE = EntityMapping.model_validate(
    {
        "object": "Partner",
        "key": "ext_id",
        "fields": [
            {"canonical": "name", "native": "Name"},
            {"canonical": "phone", "native": "Phone"},
        ],
    }
).for_entity("partner")


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    s = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    s.put_records("partner", [(i, {"id": i, "name": f"P{i}"}, False) for i in IDS])
    return s


def _write(
    store: StateStore, em: EntityMapping = MAPPING, *, mirror: bool = False
) -> tuple[_FakeCrm, RunReport]:
    crm = _ArchivingCrm()
    report = RunReport(job="j")
    writer = DestinationWriter(
        store, report, TransformContext(), store.session, 1, dry_run=False, mirror=mirror
    )
    writer.write("crm", "partner", em, crm, lambda _n: None)
    return crm, report


def _to_write(store: StateStore, em: EntityMapping = MAPPING) -> list[str]:
    fingerprint = mapping_fingerprint(em, TransformContext())
    rows = store.records_to_write("crm", "partner", fingerprint, include_tombstones=True)
    return [rec.id for rec, _ in rows]


def _unchanged(report: RunReport) -> int:
    return report.written["crm/partner/unchanged"]


def test_after_a_write_no_record_is_opened_again_and_all_count_as_unchanged(store):
    _write(store)
    assert _to_write(store) == []
    crm, report = _write(store)
    assert crm.calls == []
    assert _unchanged(report) == 250


def test_a_hub_only_change_opens_that_record_once_and_sends_nothing(store):
    _write(store)
    # ``phone`` is not in the mapping: a new version the destination does not need.
    store.put_records(
        "partner", [("par_0007", {"id": "par_0007", "name": "Ppar_0007", "phone": "1"}, False)]
    )
    assert _to_write(store) == ["par_0007"]
    crm, report = _write(store)
    assert crm.calls == []
    assert _unchanged(report) == 250
    assert _to_write(store) == []  # its new version is noted as acknowledged


def test_a_changed_record_is_sent_and_then_acknowledged(store):
    _write(store)
    store.put_records("partner", [("par_0003", {"id": "par_0003", "name": "Renamed"}, False)])
    crm, report = _write(store)
    assert crm.calls == [1]
    assert _unchanged(report) == 249
    assert _to_write(store) == []


def test_an_edited_mapping_resends_every_record_once(store):
    _write(store)
    assert len(_to_write(store, WITH_PHONE)) == 250
    crm, _ = _write(store, WITH_PHONE)
    assert crm.calls == [100, 100, 50]
    again, report = _write(store, WITH_PHONE)
    assert again.calls == []
    assert _unchanged(report) == 250


def test_ledger_rows_without_a_version_fall_back_to_the_hash_and_are_filled_in(store):
    _write(store)
    fingerprint = mapping_fingerprint(MAPPING, TransformContext())
    hashes = store.ledger_hashes("crm", "partner", IDS)
    # As a ledger written before versions were kept: hash and native id only.
    store.record_writes("crm", "partner", [(i, hashes[i], f"n-{i}") for i in IDS], run_id=1)
    assert len(_to_write(store)) == 250
    crm, report = _write(store)
    assert crm.calls == []
    assert _unchanged(report) == 250
    assert store.count_acknowledged("crm", "partner", fingerprint) == 250


def test_a_tombstone_is_archived_once_in_mirror_mode_and_then_left_alone(store):
    _write(store, mirror=True)
    store.put_records("partner", [("par_0001", {"id": "par_0001", "name": "Ppar_0001"}, True)])
    assert _to_write(store) == ["par_0001"]
    _, report = _write(store, mirror=True)
    assert report.written["crm/partner/archived"] == 1
    assert _to_write(store) == []


def test_another_destination_is_not_affected_by_what_one_acknowledged(store):
    _write(store)
    fingerprint = mapping_fingerprint(MAPPING, TransformContext())
    other = store.records_to_write("other", "partner", fingerprint, include_tombstones=False)
    assert len(list(other)) == 250
