"""Helpers for the scheduling connector tests (on sys.path for the test modules here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.base import NativeRecord
from connectors.scheduling import SchedulingConnector, SchedulingSettings
from connectors.scheduling.rejects import RowRejected

FIXTURES = Path(__file__).parent / "fixtures"
OFFICIAL_EXAMPLES = FIXTURES / "fhir-r4-examples"
TEST_KEY = "test-patient-key-0123456789abcdef"
KEY_ENV = {"REFSYNC_PATIENT_KEY": TEST_KEY}


class ReadResult:
    """Everything one full read produced."""

    def __init__(self, connector: SchedulingConnector, pages: list[Any]) -> None:
        self.connector = connector
        self.pages = pages
        self.records: list[NativeRecord] = [r for p in pages for r in p.records]
        self.rejects: list[RowRejected] = [e for p in pages for e in p.rejects]

    @property
    def bookmark(self) -> dict[str, Any]:
        return self.pages[-1].bookmark

    def by_appointment(self) -> dict[str, dict[str, Any]]:
        return {r.fields["appointment_id"]: dict(r.fields) for r in self.records}

    def stages(self) -> dict[str, str]:
        return {k: v["stage"] for k, v in self.by_appointment().items()}

    def reject_lines(self) -> dict[int | None, str]:
        return {e.source_line: e.code for e in self.rejects}


def make_connector(path: Path, **settings: Any) -> SchedulingConnector:
    settings.setdefault("timezone", "America/Chicago")
    environ = settings.pop("environ", KEY_ENV)
    return SchedulingConnector(SchedulingSettings(path=path, **settings), environ=environ)


def read_all(
    path: Path, object_name: str = "stage_event", since: Any = None, **settings: Any
) -> ReadResult:
    connector = make_connector(path, **settings)
    pages = list(connector.read(object_name, since=since, fields=()))
    return ReadResult(connector, pages)
