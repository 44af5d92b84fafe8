"""The read-only scheduling connector passes the read contract suite (it declares READ and
no WRITE, so ``suites_for`` gives it only that one): seeding writes export files."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from scheduling_support import make_connector

from connectors.base import NativeRecord
from connectors.scheduling import SchedulingConnector
from connectors.testing import ContractHarness, suites_for

_HEADERS = {
    "appointment_id": "Appointment ID",
    "mrn": "Patient ID",
    "referral_number": "Referral #",
    "status": "Status",
    "appointment_date": "Appt Date",
    "appointment_time": "Start Time",
    "department": "Facility",
}


def _row(key: str) -> dict[str, Any]:
    return {
        "appointment_id": f"A-{key}",
        "mrn": f"M-{key}",
        "referral_number": key,
        "status": "Scheduled",
        "appointment_date": "03/05/2024",
        "appointment_time": "09:00 AM",
        "department": "Cardiology",
    }


def _seeder(folder: Path) -> Any:
    numbers = itertools.count(1)

    def seed(records: Sequence[dict[str, Any]]) -> None:
        path = folder / f"export-{next(numbers):03d}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(_HEADERS.values())
            for record in records:
                writer.writerow([record.get(name, "") for name in _HEADERS])

    return seed


def _completed(original: dict[str, Any], read: NativeRecord) -> bool:
    return read.fields.get("stage") == "completed"


class TestSchedulingReadContract(*suites_for(SchedulingConnector)):  # type: ignore[misc]
    @pytest.fixture
    def contract(self, tmp_path: Path) -> ContractHarness:
        folder = tmp_path / "exports"
        folder.mkdir()
        return ContractHarness(
            connector=make_connector(folder),
            object_name="stage_event",
            key_field="refsync_id",
            id_field="referral_number",
            fields=("referral_number", "stage", "appointment_id"),
            make_record=_row,
            seed=_seeder(folder),
            change_record=lambda record: {**record, "status": "Checked Out"},
            read_shows_change=_completed,
        )
