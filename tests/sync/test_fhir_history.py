"""FHIR R4 exports through the engine: references resolve across files (issue 10).

A FHIR bulk export ($export) writes one NDJSON file per resource type: the Appointments and
Tasks name their referral only by a reference to a ServiceRequest in another file. The
expected stages are written by hand from the resources below.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from tests.sync.conftest import Hub, deal_stages, sf_stages

PLAC = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PLAC"}]}
BSER = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS"


def _sr(n: int) -> dict:
    return {
        "resourceType": "ServiceRequest", "id": f"sr-{n}", "status": "active",
        "intent": "order", "subject": {"reference": f"Patient/p{n}"},
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005",
                                  "display": "Patient referral"}]}],
        "identifier": [{"type": PLAC, "system": "urn:example:referrals", "value": f"FH-{n}"}],
        "authoredOn": "2026-09-01T09:00:00-05:00",
        "meta": {"lastUpdated": "2026-09-01T09:00:00-05:00"},
    }  # fmt: skip


def _appt(aid: str, n: int, status: str, updated: str, start: str) -> dict:
    return {
        "resourceType": "Appointment", "id": aid, "status": status,
        "meta": {"lastUpdated": updated},
        "basedOn": [{"reference": f"ServiceRequest/sr-{n}"}],
        "start": start, "end": start.replace(":00:00", ":30:00"),
        "participant": [{"actor": {"reference": f"Patient/p{n}"}, "status": "accepted"}],
    }  # fmt: skip


def _task(tid: str, n: int, status: str, code: str, modified: str) -> dict:
    return {
        "resourceType": "Task", "id": tid, "status": status, "intent": "order",
        "focus": {"reference": f"ServiceRequest/sr-{n}"},
        "businessStatus": {"coding": [{"system": BSER, "code": code}]},
        "lastModified": modified,
    }  # fmt: skip


SERVICE_REQUESTS = [_sr(n) for n in (1, 2, 3, 4)]
TASKS = [
    _task("t-1", 1, "in-progress", "3.0", "2026-09-02T10:00:00-05:00"),  # accepted
    _task("t-3", 3, "rejected", "4.0", "2026-09-02T11:00:00-05:00"),  # declined
]
APPOINTMENTS = [
    _appt("a-1", 1, "booked", "2026-09-03T09:00:00-05:00", "2026-09-10T09:00:00-05:00"),
    _appt("a-1", 1, "fulfilled", "2026-09-10T10:00:00-05:00", "2026-09-10T09:00:00-05:00"),
    _appt("a-2", 2, "booked", "2026-09-03T09:00:00-05:00", "2026-09-11T09:00:00-05:00"),
    _appt("a-2", 2, "noshow", "2026-09-11T11:00:00-05:00", "2026-09-11T09:00:00-05:00"),
    _appt("a-4", 4, "booked", "2026-09-03T09:00:00-05:00", "2026-09-12T09:00:00-05:00"),
    _appt("a-4", 4, "cancelled", "2026-09-05T09:00:00-05:00", "2026-09-12T09:00:00-05:00"),
    _appt("a-5", 4, "booked", "2026-09-06T09:00:00-05:00", "2026-09-20T09:00:00-05:00"),
]
EXPECTED = {"FH-1": "completed", "FH-2": "no_show", "FH-3": "declined", "FH-4": "scheduled"}
LABELS = {"completed": "Completed", "no_show": "No Show", "declined": "Declined",
          "scheduled": "Scheduled"}  # fmt: skip


def _use_fhir(hub: Hub) -> Path:
    def edit(d: dict) -> None:
        conn = d["connections"]["epic"]
        conn["mapping"] = "mappings/fhir.yaml"
        conn["settings"]["format"] = "fhir"

    hub.edit_config(edit)
    return hub.root / "exports" / "epic"


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    past = datetime.now().timestamp() - 5
    os.utime(path, (past, past))


def _check(hub: Hub) -> None:
    report = hub.run("scheduling-to-crm")
    assert report.exit_code() == 0, report.to_json()
    assert sf_stages(hub.sf) == {n: LABELS[s] for n, s in EXPECTED.items()}
    assert deal_stages(hub.hs) == {n: LABELS[s] for n, s in EXPECTED.items()}


@pytest.mark.parametrize("order", ["requests-first", "appointments-first"])
def test_a_bulk_export_with_one_ndjson_file_per_resource_type_resolves_across_files(
    hub: Hub, order: str
) -> None:
    folder = _use_fhir(hub)
    files = {
        "ServiceRequest.ndjson": SERVICE_REQUESTS,
        "Task.ndjson": TASKS,
        "Appointment.ndjson": APPOINTMENTS,
    }
    names = list(files) if order == "requests-first" else list(reversed(files))
    for name in names:
        _write(folder / name, "\n".join(json.dumps(r) for r in files[name]) + "\n")
    _check(hub)


def test_a_bundle_of_appointments_and_tasks_based_on_service_requests_ends_right(hub: Hub) -> None:
    folder = _use_fhir(hub)
    resources = [*APPOINTMENTS, *TASKS, *SERVICE_REQUESTS]
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": r}
                        for i, r in enumerate(resources)]}  # fmt: skip
    _write(folder / "bundle.json", json.dumps(bundle))
    _check(hub)


def test_appointments_of_a_service_request_read_in_an_earlier_run_still_resolve(hub: Hub) -> None:
    folder = _use_fhir(hub)
    _write(folder / "ServiceRequest.ndjson", "\n".join(json.dumps(r) for r in SERVICE_REQUESTS))
    hub.run("scheduling-to-crm")
    _write(folder / "Task.ndjson", "\n".join(json.dumps(r) for r in TASKS))
    _write(folder / "Appointment.ndjson", "\n".join(json.dumps(r) for r in APPOINTMENTS))
    _check(hub)


def test_references_resolve_across_runs_through_the_state_even_after_their_file_is_gone(
    hub: Hub,
) -> None:
    folder = _use_fhir(hub)
    first = folder / "ServiceRequest.ndjson"
    _write(first, "\n".join(json.dumps(r) for r in SERVICE_REQUESTS))
    hub.run("scheduling-to-crm")
    first.unlink()  # the folder keeps only the newest exports
    _write(folder / "Task.ndjson", "\n".join(json.dumps(r) for r in TASKS))
    _write(folder / "Appointment.ndjson", "\n".join(json.dumps(r) for r in APPOINTMENTS))
    _check(hub)
