"""The writer hands a destination one chunk at a time and records each in the ledger, so a
crash re-sends at most one chunk (through a fake connector and a real SQLite state store)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from connectors.base import Connector, WriteResult
from mapping.spec import EntityMapping
from mapping.transforms import TransformContext
from sync.engine.report import RunReport
from sync.engine.writer import DestinationWriter
from sync.state import StateStore


class _Crash(Exception):
    pass


class _NoSettings(BaseModel):
    pass


class _FakeCrm(Connector):
    name = "fake"
    settings_model = _NoSettings
    max_batch_size = 10  # so a chunk is 100 records

    def __init__(self, crash_on_call: int | None = None) -> None:
        super().__init__(_NoSettings())
        self.calls: list[int] = []
        self.crash_on_call = crash_on_call

    def check(self) -> None: ...

    def describe(self, object_name: str) -> Any: ...

    def read(self, object_name: str, **_: Any) -> Any:
        return iter(())

    def upsert(
        self, object_name: str, records: Sequence[Mapping[str, Any]], *, key: str
    ) -> list[WriteResult]:
        self.calls.append(len(records))
        if len(self.calls) == self.crash_on_call:
            raise _Crash("killed mid-write")
        return [WriteResult(str(r[key]), id=f"n-{r[key]}", created=True) for r in records]


MAPPING = EntityMapping.model_validate(
    {
        "object": "Partner",
        "key": "ext_id",
        "fields": [{"canonical": "name", "native": "Name"}],
    }
).for_entity("partner")


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    s = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    s.put_records(
        "partner",
        [(f"par_{i:04d}", {"id": f"par_{i:04d}", "name": f"P{i}"}, False) for i in range(250)],
    )
    return s


def _writer(store: StateStore) -> DestinationWriter:
    return DestinationWriter(
        store, RunReport(job="j"), TransformContext(), store.session, 1, dry_run=False, mirror=False
    )


def test_records_go_out_in_chunks_of_the_connectors_size(store: StateStore) -> None:
    crm = _FakeCrm()
    _writer(store).write("crm", "partner", MAPPING, crm, lambda _n: None)
    assert crm.calls == [100, 100, 50]


def test_a_crash_mid_write_resends_only_the_chunk_in_flight(store: StateStore) -> None:
    """Failure catalogue: C3."""
    crashing = _FakeCrm(crash_on_call=3)
    with pytest.raises(_Crash):
        _writer(store).write("crm", "partner", MAPPING, crashing, lambda _n: None)
    ids = [f"par_{i:04d}" for i in range(250)]
    assert len(store.ledger_hashes("crm", "partner", ids)) == 200  # two chunks acknowledged

    again = _FakeCrm()
    _writer(store).write("crm", "partner", MAPPING, again, lambda _n: None)
    assert again.calls == [50]
