"""The canonical model: PHI marking, NPI and timezone validation, entity lookup."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from mapping.model import (
    ENTITIES,
    Clinician,
    OutreachActivity,
    Partner,
    PatientPHI,
    QualifiedReferralDefinition,
    Referral,
    Stage,
    entity_model,
    is_phi_path,
    phi_paths,
)


def test_the_referral_phi_block_and_every_field_inside_it_are_phi():
    assert phi_paths(Referral) == {
        "patient",
        "patient.name",
        "patient.birth_date",
        "patient.mrn",
        "patient.phone",
        "patient.diagnosis",
        "patient.payer",
        "patient.key",
    }


@pytest.mark.parametrize(
    "model", [Partner, Clinician, OutreachActivity, QualifiedReferralDefinition]
)
def test_entities_without_a_phi_block_have_no_phi_fields(model):
    assert phi_paths(model) == set()


def test_every_field_of_the_phi_block_model_is_marked_phi():
    assert phi_paths(PatientPHI) == set(PatientPHI.model_fields)


@pytest.mark.parametrize(
    ("path", "phi"),
    [
        ("patient.mrn", True),
        ("patient", True),
        ("patient_ref", False),  # a surrogate key, never PHI
        ("reason", False),
        ("referral_number", False),
        ("patient.name.given", True),  # anything below a PHI field is PHI
    ],
)
def test_is_phi_path_answers_from_the_model(path, phi):
    assert is_phi_path("referral", path) is phi


def test_npi_is_validated_on_partners_and_clinicians():
    assert Clinician(id="c", last_name="Ng", npi=" 1234567893 ").npi == "1234567893"
    with pytest.raises(ValidationError, match="Luhn"):
        Partner(id="p", name="Lakeside", npi="1234567898")


def test_naive_timestamps_are_refused():
    with pytest.raises(ValidationError, match="timezone"):
        Referral(id="r", referral_number="R-1", received_at=datetime(2024, 3, 5, 9, 30))
    ok = Referral(id="r", referral_number="R-1", received_at=datetime(2024, 3, 5, tzinfo=UTC))
    assert ok.received_at.tzinfo is not None


def test_unknown_fields_are_typos_and_refused():
    with pytest.raises(ValidationError, match="extra"):
        Partner(id="p", name="Lakeside", nmae="x")


def test_a_referral_starts_referred_with_an_empty_history():
    referral = Referral(id="r", referral_number="R-1")
    assert referral.stage is Stage.REFERRED and referral.stage_history == []


def test_patient_block_holds_dates_not_strings():
    referral = Referral(id="r", referral_number="R-1", patient={"birth_date": "1931-02-28"})
    assert referral.patient.birth_date == date(1931, 2, 28)


def test_entity_model_names_the_known_entities_when_asked_for_an_unknown_one():
    assert entity_model("referral") is Referral
    assert set(ENTITIES) == {"partner", "clinician", "referral", "outreach", "definition"}
    with pytest.raises(KeyError, match="known: clinician, definition, outreach, partner, referral"):
        entity_model("patient")
