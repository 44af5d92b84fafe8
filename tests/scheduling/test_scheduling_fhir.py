"""FHIR R4 input: Bundles, single resources and NDJSON; the official HL7 examples."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from scheduling_support import FIXTURES, OFFICIAL_EXAMPLES, read_all

from connectors.scheduling.fhirmap import BSER_STAGES
from connectors.scheduling.fhirsource import SUPPORTED_TYPES

EXAMPLES = sorted(OFFICIAL_EXAMPLES.glob("*.json"))


def _types(path: Path) -> set[str]:
    data = json.loads(path.read_text())
    if data["resourceType"] == "Bundle":
        return {e["resource"]["resourceType"] for e in data.get("entry", [])}
    return {data["resourceType"]}


SUPPORTED_EXAMPLES = [p for p in EXAMPLES if _types(p) & SUPPORTED_TYPES]


def _fhir(path: Path, object_name: str = "stage_event", **settings):
    return read_all(path, object_name, format="fhir", **settings)


def test_the_official_examples_cover_every_supported_resource_type():
    covered = set().union(*(_types(p) for p in SUPPORTED_EXAMPLES))
    assert covered == SUPPORTED_TYPES
    assert len(SUPPORTED_EXAMPLES) >= 70


@pytest.mark.parametrize("path", SUPPORTED_EXAMPLES, ids=lambda p: p.name)
def test_every_official_example_parses_without_a_reject(path):
    for object_name in ("stage_event", "practitioner", "practitioner_role", "organization"):
        result = _fhir(path, object_name)
        assert result.rejects == [], [e.message for e in result.rejects]


def _only(path: Path):
    records = _fhir(path).records
    assert len(records) == 1
    return records[0].fields


def test_official_appointment_based_on_the_referral_is_scheduled():
    fields = _only(OFFICIAL_EXAMPLES / "appointment-example.json")
    assert fields["stage"] == "scheduled"
    assert fields["service_request_ref"] == "ServiceRequest/myringotomy"
    assert fields["appointment_at"].isoformat() == "2013-12-10T09:00:00+00:00"
    assert fields["event_at"].date().isoformat() == "2013-10-10"  # booked when created


def test_official_referral_service_request_is_referred_with_its_number():
    fields = _only(OFFICIAL_EXAMPLES / "servicerequest-example-myringotomy.json")
    assert fields["stage"] == "referred"
    assert fields["referral_number"] == "ret4421"
    assert fields["department"] == "ENT"


def test_official_encounter_for_the_referral_completes_it():
    fields = _only(OFFICIAL_EXAMPLES / "encounter-example-f203-20130311.json")
    assert fields["stage"] == "completed"
    assert fields["service_request_ref"] == "ServiceRequest/myringotomy"
    assert fields["event_at"].date().isoformat() == "2013-03-20"  # period end


@pytest.mark.parametrize(
    ("name", "stage"),
    [("task-example1.json", "scheduled"), ("task-example6.json", "completed")],
)
def test_official_tasks_focused_on_a_service_request_give_its_stage(name, stage):
    fields = _only(OFFICIAL_EXAMPLES / name)
    assert fields["stage"] == stage
    assert fields["service_request_ref"] == "ServiceRequest/lipid"


@pytest.mark.parametrize(
    "name",
    [
        "appointment-example-request.json",  # proposed: not booked yet
        "task-example3.json",  # focus is a MedicationRequest
        "task-example-fm-cancel.json",  # a claim-processing task
        "servicerequest-example-lipid.json",  # a lab order, not a referral
        "encounter-example.json",  # a visit not linked to any referral or appointment
    ],
)
def test_official_examples_that_say_nothing_about_a_referral_yield_no_event(name):
    result = _fhir(OFFICIAL_EXAMPLES / name)
    assert result.records == [] and result.rejects == []


def test_referral_number_resolves_across_a_bundle_of_official_examples(tmp_path):
    entries = [
        {"resource": json.loads((OFFICIAL_EXAMPLES / n).read_text())}
        for n in ("appointment-example.json", "servicerequest-example-myringotomy.json")
    ]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    by_type = {r.fields["source"]: r.fields for r in _fhir(path).records}
    assert by_type["fhir:Appointment"]["referral_number"] == "ret4421"
    assert by_type["fhir:ServiceRequest"]["referral_number"] == "ret4421"


def test_official_providers_read_as_referral_sources():
    prac = _fhir(OFFICIAL_EXAMPLES / "practitioner-example.json", "practitioner").records[0]
    assert prac.id == "Practitioner/example"
    assert prac.fields["last_name"] == "Careful"
    orgs = _fhir(OFFICIAL_EXAMPLES / "organization-example.json", "organization").records
    assert orgs and orgs[0].fields["name"]
    roles = _fhir(OFFICIAL_EXAMPLES / "practitionerrole-examples-general.json", "practitioner_role")
    assert len(roles.records) >= 2


def test_closed_loop_bundle_links_every_resource_to_the_referral_number():
    result = _fhir(FIXTURES / "fhir_referral_bundle.json")
    stages = {
        r.fields["source"]: (r.fields["stage"], r.fields["referral_number"]) for r in result.records
    }
    assert stages == {
        "fhir:ServiceRequest": ("referred", "R-77"),
        "fhir:Appointment": ("completed", "R-77"),
        "fhir:Task": ("completed", "R-77"),
        "fhir:Encounter": ("completed", "R-77"),
    }
    sr = next(r.fields for r in result.records if r.fields["source"] == "fhir:ServiceRequest")
    assert sr["referring_npi"] == "1234567893"
    assert result.rejects == []


def test_bundle_providers_and_organisations_are_their_own_objects():
    prac = _fhir(FIXTURES / "fhir_referral_bundle.json", "practitioner").records
    org = _fhir(FIXTURES / "fhir_referral_bundle.json", "organization").records
    role = _fhir(FIXTURES / "fhir_referral_bundle.json", "practitioner_role").records
    assert [r.fields["npi"] for r in prac] == ["1234567893"]
    assert (org[0].fields["name"], org[0].fields["city"]) == (
        "Example Family Practice",
        "Springfield",
    )
    assert role[0].fields["organization_ref"] == "Organization/npi-1245319599"


def test_ndjson_reads_line_by_line_and_reports_bad_lines_by_number():
    result = _fhir(FIXTURES / "fhir_appointments.ndjson")
    events = [(r.fields["fhir_ref"], r.fields["stage"]) for r in result.records]
    assert events == [
        ("Appointment/appt-2001", "scheduled"),
        ("Appointment/appt-2001", "no_show"),
        ("Appointment/appt-2002", "scheduled"),
        ("Task/task-R-88", "no_show"),  # BSeR 5.1.2 wins over status in-progress
    ]
    assert result.reject_lines() == {
        5: "INVALID_RESOURCE",  # not JSON
        6: "INVALID_RESOURCE",  # start without an offset
        7: "UNKNOWN_STATUS",  # status outside the R4 value set
    }
    assert all(r.fields["referral_number"] == "R-88" for r in result.records)


def test_bser_business_statuses_cover_the_referral_lifecycle():
    assert BSER_STAGES["2.0"].value == "referred"
    assert BSER_STAGES["4.0"].value == "declined"
    assert BSER_STAGES["5.1.3"].value == "cancelled"
    assert BSER_STAGES["7.0"].value == "completed"


def test_invalid_bundle_entry_is_rejected_by_pointer_and_the_rest_read(tmp_path):
    good = json.loads((OFFICIAL_EXAMPLES / "appointment-example.json").read_text())
    bad = {"resourceType": "Appointment", "status": "booked"}  # participant is required
    path = tmp_path / "b.json"
    path.write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": bad}, {"resource": good}],
            }
        )
    )
    result = _fhir(path)
    assert len(result.records) == 1
    assert [e.pointer for e in result.rejects] == ["entry[0]"]
    assert "participant" in result.rejects[0].message


def _ndjson(path: Path, resource: dict, **changes: str) -> None:
    path.write_text(json.dumps({**resource, **changes}) + "\n")


def test_a_referral_number_from_a_file_read_in_an_earlier_run_resolves_without_reading_it(
    tmp_path,
):
    """A bulk export's ServiceRequests may come in an earlier file than its Appointments:
    the bookmark carries their numbers, and a file known unchanged by its times is not
    read again for them (other bytes slipped in under its old time go unseen until the
    file is touched)."""
    request = json.loads(
        (OFFICIAL_EXAMPLES / "servicerequest-example-myringotomy.json").read_text()
    )
    visit = json.loads((OFFICIAL_EXAMPLES / "appointment-example.json").read_text())
    folder = tmp_path / "bulk"
    folder.mkdir()
    _ndjson(folder / "ServiceRequest.ndjson", request)
    day_ago = time.time_ns() - 86_400 * 10**9
    os.utime(folder / "ServiceRequest.ndjson", ns=(day_ago, day_ago))  # settled when read
    first = _fhir(folder)
    assert [r.fields["referral_number"] for r in first.records] == ["ret4421"]

    text = (folder / "ServiceRequest.ndjson").read_text().replace("ret4421", "ret9999")
    (folder / "ServiceRequest.ndjson").write_text(text)
    os.utime(folder / "ServiceRequest.ndjson", ns=(day_ago, day_ago))
    _ndjson(folder / "Appointment.ndjson", visit)
    second = _fhir(folder, since=first.bookmark)
    assert [(r.fields["source"], r.fields["referral_number"]) for r in second.records] == [
        ("fhir:Appointment", "ret4421")
    ]
    os.utime(folder / "ServiceRequest.ndjson")  # touched: read again, the new number seen
    third = _fhir(folder, since=first.bookmark)
    assert {r.fields["referral_number"] for r in third.records} == {"ret9999"}
