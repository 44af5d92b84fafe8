"""Every canonical field has a data class, as data the schema command lists."""

from __future__ import annotations

from connectors.scheduling import SchedulingConnector
from connectors.scheduling.native import OBJECTS, PHI_FIELDS
from mapping.model import ENTITIES, is_phi_path, phi_paths
from mapping.privacy import (
    TIER_ALLOWS,
    DataClass,
    PrivacyTier,
    canonical_class,
    field_table,
    leaf_paths,
    native_class,
)


def test_every_field_of_every_entity_is_classified_with_a_reason():
    rows = field_table()
    assert {(r["entity"], r["field"]) for r in rows} == {
        (entity, path) for entity, model in ENTITIES.items() for path in leaf_paths(model)
    }
    assert [r for r in rows if "not classified" in r["why"] or not r["why"]] == []


def test_every_field_the_model_marks_phi_is_classed_as_patient_data():
    for entity, model in ENTITIES.items():
        for path in phi_paths(model):
            assert canonical_class(entity, path).data_class is not DataClass.OPERATIONAL, path


def test_care_dates_and_free_text_are_patient_data_though_the_model_does_not_mark_them():
    for path in ("appointment_at", "completed_at", "received_at", "stage_history"):
        assert not is_phi_path("referral", path)
        assert canonical_class("referral", path).data_class is DataClass.QUASI_IDENTIFIER
    for path in ("reason", "decline_reason", "cancel_reason", "patient.diagnosis"):
        assert canonical_class("referral", path).data_class is DataClass.CLINICAL_TEXT
    assert canonical_class("referral", "patient.mrn").data_class is DataClass.DIRECT_IDENTIFIER


def test_the_derived_week_month_and_intervals_are_coarsened_and_fit_a_deidentified_tier():
    for path in ("received_month", "received_week", "stage_entered_week", "days_to_schedule"):
        fc = canonical_class("referral", path)
        assert fc.data_class in TIER_ALLOWS[PrivacyTier.DEIDENTIFIED]


def test_tiers_nest_and_only_full_holds_identifiers_and_free_text():
    de, lim, full = (TIER_ALLOWS[t] for t in PrivacyTier)
    assert de < lim < full
    assert DataClass.DIRECT_IDENTIFIER not in lim and DataClass.CLINICAL_TEXT not in lim
    assert DataClass.QUASI_IDENTIFIER in lim


def test_the_scheduling_connectors_phi_fields_are_classed_as_patient_data():
    for name in (*PHI_FIELDS, "patient_key", "cancel_reason", "appointment_at"):
        assert name in OBJECTS["stage_event"]
        fc = native_class(SchedulingConnector.native_field_classes, "referral", name)
        assert fc is not None and fc.data_class is not DataClass.OPERATIONAL, name


def test_native_names_that_say_what_they_hold_are_classed_by_name_only_for_referrals():
    assert native_class({}, "referral", "Patient_DOB__c").data_class is (  # type: ignore[union-attr]
        DataClass.QUASI_IDENTIFIER
    )
    assert native_class({}, "referral", "patient_mrn").data_class is (  # type: ignore[union-attr]
        DataClass.DIRECT_IDENTIFIER
    )
    assert native_class({}, "referral", "Stage__c") is None
    assert native_class({}, "clinician", "Birthdate") is None  # a clinician's own
