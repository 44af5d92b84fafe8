"""A scheduling export reaches a PostgreSQL warehouse through the engine, with the shipped
warehouse mapping, and a second run writes nothing (the engine was not edited for it)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import PG_BASE_URL
from tests.sync.conftest import Hub
from tests.sync.test_end_to_end import write_export

TEMPLATE = Path(__file__).resolve().parents[2] / "config/templates/mappings/warehouse.yaml"


@pytest.fixture
def warehouse(hub: Hub) -> Iterator[tuple[Hub, str]]:
    schema = f"wh_{uuid.uuid4().hex[:12]}"
    shutil.copy(TEMPLATE, hub.root / "mappings" / "warehouse.yaml")

    def add(data: Any) -> None:
        data["connections"]["warehouse"] = {
            "type": "warehouse",
            "mapping": "mappings/warehouse.yaml",
            "privacy": "deidentified",
            "settings": {"url": PG_BASE_URL, "schema": schema},
        }
        data["jobs"]["scheduling-to-warehouse"] = {
            "sources": ["epic"],
            "destinations": ["warehouse"],
            "entities": ["definition", "referral"],
            "mode": "mirror",
        }

    hub.edit_config(add)
    yield hub, schema
    engine = sa.create_engine(PG_BASE_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _rows(schema: str, table: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(PG_BASE_URL)
    try:
        with engine.connect() as conn:
            query = sa.text(f'SELECT * FROM "{schema}"."{table}" ORDER BY refsync_id')
            return [dict(r) for r in conn.execute(query).mappings()]
    finally:
        engine.dispose()


def test_a_scheduling_export_lands_in_warehouse_tables_and_a_rerun_writes_nothing(
    warehouse: tuple[Hub, str],
) -> None:
    hub, schema = warehouse
    write_export(
        hub,
        "a.csv",
        [("1", "REF-1", "1", "03/05/2024 9:30 AM"), ("2", "REF-2", "2", "03/06/2024 9:30 AM")],
    )
    report = hub.run("scheduling-to-warehouse")
    assert report.status == "ok", report.rejects
    assert report.written["warehouse/referral/created"] == 2
    referrals = _rows(schema, "referrals")
    assert {r["referral_number"]: r["stage"] for r in referrals} == {
        "REF-1": "scheduled",
        "REF-2": "completed",
    }
    definitions = _rows(schema, "definitions")
    shipped = sorted(p.stem for p in (hub.root / "definitions").glob("*.yaml"))
    assert len(definitions) == len(shipped)
    assert all(r["refsync_archived_at"] is None for r in referrals)
    # no column for what a de-identified table may not hold
    assert not {"received_at", "reason", "patient", "appointment_at"} & set(referrals[0])

    again = hub.run("scheduling-to-warehouse")
    assert again.status == "ok"
    assert not any(k.startswith("warehouse/") and not k.endswith("/unchanged") and v
                   for k, v in again.written.items())  # fmt: skip
    assert _rows(schema, "referrals") == referrals  # not even a stamp moved
