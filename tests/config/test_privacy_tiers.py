"""Privacy tiers per connection, and validation by data flow: a PHI source field is followed
through the mappings to every destination field it can reach, whatever the names say."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_loader import ENV, FIXTURE, MODELS, PRIVACY, edit, problems_of

from config import load_program
from mapping.privacy import PrivacyTier, TypePrivacy

CLINIC = "mappings/clinic.yaml"
CRM = "mappings/crm.yaml"


@pytest.fixture
def program_dir(tmp_path: Path) -> Path:
    root = tmp_path / "prog"
    shutil.copytree(FIXTURE, root)
    return root


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if needle in t)


def _add_clinic_field(root: Path, line: str) -> None:
    path = root / CLINIC
    path.write_text(path.read_text() + f"      - {line}\n")


def _add_crm_field(root: Path, line: str) -> None:
    edit(root, CRM, "    fields:\n", f"    fields:\n      - {line}\n")


def _set_crm(root: Path, text: str) -> None:
    edit(root, "refsync.yaml", "    mapping: mappings/crm.yaml\n",
         f"    mapping: mappings/crm.yaml\n{text}")  # fmt: skip


def test_a_crm_is_deidentified_by_default_and_a_scheduling_system_is_inside_the_phi_zone(
    program_dir,
):
    edit(program_dir, "refsync.yaml", "    phi_allowed: true\n", "")
    program = load_program(program_dir, settings_models=MODELS, privacy=PRIVACY, env=ENV)
    assert program.config.connections["crm"].tier is PrivacyTier.DEIDENTIFIED
    assert program.config.connections["clinic"].tier is PrivacyTier.FULL
    assert program.warnings == ()


def test_the_phi_zone_and_native_classes_come_from_the_types_declaration_not_its_name(
    program_dir,
):
    edit(program_dir, "refsync.yaml", "    phi_allowed: true\n", "")
    _add_clinic_field(program_dir, "{canonical: urgency, native: authorization_number, "
                      "direction: in}")  # fmt: skip
    _add_crm_field(program_dir, "{canonical: urgency, native: Urgency__c, direction: out}")
    (problem,) = problems_of(program_dir)  # the scheduling type's declaration classes it
    assert "clinic authorization_number (direct_identifier" in problem
    undeclared = load_program(program_dir, settings_models=MODELS, env=ENV)
    clinic = undeclared.config.connections["clinic"]
    assert clinic.tier is PrivacyTier.DEIDENTIFIED and not clinic.covered_entity
    assert undeclared.native_classes == {"crm": {}, "clinic": {}}
    declared = load_program(program_dir, settings_models=MODELS, privacy={
        "scheduling": TypePrivacy()}, env=ENV)  # fmt: skip
    assert declared.config.connections["clinic"].tier is PrivacyTier.DEIDENTIFIED


def test_phi_allowed_still_works_with_a_deprecation_warning_naming_privacy_and_the_missing_baa(
    program_dir,
):
    program = load_program(program_dir, settings_models=MODELS, env=ENV)
    assert program.config.connections["clinic"].tier is PrivacyTier.FULL
    no_baa, deprecated = program.warnings  # sorted by place, then text
    line = _line_of(program_dir / "refsync.yaml", "phi_allowed: true")
    assert deprecated.startswith(f"{program_dir / 'refsync.yaml'}:{line}:")
    assert "phi_allowed is deprecated; write privacy: full instead" in deprecated
    assert "names no business associate agreement; add baa:" in no_baa


def test_limited_needs_a_data_use_agreement_and_full_needs_a_baa(program_dir):
    _set_crm(program_dir, "    privacy: limited\n")
    (problem,) = problems_of(program_dir)
    assert "privacy: limited" in problem and "add data_use_agreement:" in problem
    edit(program_dir, "refsync.yaml", "privacy: limited", "privacy: full")
    (problem,) = problems_of(program_dir)
    line = _line_of(program_dir / "refsync.yaml", "privacy: full")
    assert problem.startswith(f"{program_dir / 'refsync.yaml'}:{line}:")
    assert "names no business associate agreement" in problem and 'add baa: "' in problem


def test_privacy_and_phi_allowed_together_are_refused(program_dir):
    edit(program_dir, "refsync.yaml", "    phi_allowed: true\n",
         '    phi_allowed: true\n    privacy: full\n    baa: "BAA-1"\n')  # fmt: skip
    (problem,) = problems_of(program_dir)
    assert "sets both privacy and the deprecated phi_allowed; remove phi_allowed" in problem


def test_a_phi_name_read_into_the_reason_is_refused_at_the_destination_with_its_route(
    program_dir,
):
    """The issue's route: {canonical: reason, native: patient_name, direction: in}."""
    _add_clinic_field(program_dir, "{canonical: reason, native: patient_name, direction: in}")
    edit(program_dir, CRM, "native: Reason__c, direction: in,", "native: Reason__c,")
    (problem,) = problems_of(program_dir)
    crm_line = _line_of(program_dir / CRM, "native: Reason__c")
    clinic_line = _line_of(program_dir / CLINIC, "native: patient_name")
    assert problem.startswith(f"{program_dir / CRM}:{crm_line}:")
    assert "referral.reason is PHI (clinical_text" in problem and "'crm'" in problem
    assert f"clinic patient_name (direct_identifier, {program_dir / CLINIC}:{clinic_line})" in (
        problem
    )
    assert "-> referral.reason -> Reason__c" in problem and "fix: remove this field" in problem


def test_a_phi_field_laundered_into_an_operational_field_is_refused(program_dir):
    _add_clinic_field(program_dir, "{canonical: service_line, native: patient_name, direction: in}")
    _add_crm_field(program_dir, "{canonical: service_line, native: Service_Line__c}")
    (problem,) = problems_of(program_dir)
    assert problem.startswith(f"{program_dir / CRM}:")
    assert "referral.service_line can carry direct_identifier read from a source" in problem
    assert "clinic patient_name (direct_identifier" in problem


def test_a_phi_field_through_a_transform_chain_is_still_refused_unless_coded(program_dir):
    _add_clinic_field(
        program_dir,
        "{canonical: urgency, native: authorization_number, direction: in, "
        "transforms: [strip, lower, {truncate: 10}]}",
    )
    _add_crm_field(
        program_dir, "{canonical: urgency, native: Urgency__c, direction: out, "
        "transforms: [strip, upper, {prefix: 'U-'}]}"
    )  # fmt: skip
    _add_crm_field(
        program_dir, "{canonical: urgency, native: Urgency_Code__c, direction: out, "
        "transforms: [{value_map: {routine: R, urgent: U, stat: S}}]}"
    )  # fmt: skip
    (problem,) = problems_of(program_dir)  # the coded copy passes
    assert "Urgency__c" in problem and "Urgency_Code__c" not in problem
    assert "clinic authorization_number (direct_identifier" in problem


def test_a_birth_date_may_reach_a_limited_data_set_but_a_name_may_not(program_dir):
    _set_crm(program_dir, '    privacy: limited\n    data_use_agreement: "DUA-2026-07"\n')
    _add_clinic_field(program_dir, "{canonical: received_at, native: birth_date, direction: in}")
    _add_crm_field(program_dir, "{canonical: received_at, native: Received_At__c, direction: out}")
    load_program(program_dir, settings_models=MODELS, env=ENV)  # dates: allowed
    _add_clinic_field(
        program_dir, "{canonical: loop_closed_at, native: patient_name, direction: in}"
    )
    _add_crm_field(
        program_dir, "{canonical: loop_closed_at, native: Loop_Closed_At__c, direction: out}"
    )
    (problem,) = problems_of(program_dir)
    assert "whose privacy tier is limited" in problem and "clinic patient_name" in problem
    assert "set privacy: full and baa:" in problem


def test_a_strict_value_map_codes_free_text_so_only_listed_values_leave(program_dir):
    _add_crm_field(
        program_dir,
        "{canonical: cancel_reason, native: Cancel_Reason__c, direction: out, "
        "transforms: [{value_map: {map: {'no show': No Show}, default: Other}}]}",
    )
    load_program(program_dir, settings_models=MODELS, env=ENV)
    edit(program_dir, CRM, "default: Other", "strict: false")
    (problem,) = problems_of(program_dir)
    assert "referral.cancel_reason is PHI (clinical_text" in problem


def _send_urgency_to_a_second_crm(program_dir):
    """A second CRM connection, ``hub``, whose mapping sends the referral's urgency out."""
    hubspot = program_dir / "mappings/hub.yaml"
    hubspot.write_text(
        "system: hubspot\nentities:\n  referral:\n    object: deals\n    key: refsync_id\n"
        "    fields:\n      - {canonical: urgency, native: refsync_urgency, direction: out}\n"
    )
    edit(program_dir, "refsync.yaml", "connections:\n",
         "connections:\n  hub:\n    type: salesforce\n    mapping: mappings/hub.yaml\n"
         "    settings: {instance_url: x, access_token: '${CRM_TOKEN}'}\n")  # fmt: skip
    return hubspot


def test_a_native_field_named_as_a_birth_date_in_a_crm_source_counts_as_one(program_dir):
    _add_crm_field(program_dir, "{canonical: urgency, native: Patient_DOB__c, direction: in}")
    hubspot = _send_urgency_to_a_second_crm(program_dir)
    (problem,) = problems_of(program_dir)
    assert problem.startswith(f"{hubspot}:7:")
    assert "crm Patient_DOB__c (quasi_identifier" in problem


@pytest.mark.parametrize(
    ("native", "data_class"),
    [("Patient_Phone__c", "direct_identifier"), ("Mobile__c", "direct_identifier"),
     ("Patient_Email__c", "direct_identifier"), ("Home_Zip__c", "quasi_identifier")],
)  # fmt: skip
def test_a_referral_source_field_named_as_a_phone_email_or_zip_counts_as_phi(
    program_dir, native, data_class
):
    _add_crm_field(program_dir, f"{{canonical: urgency, native: {native}, direction: in}}")
    hubspot = _send_urgency_to_a_second_crm(program_dir)
    (problem,) = problems_of(program_dir)
    assert problem.startswith(f"{hubspot}:7:")
    assert f"crm {native} ({data_class}" in problem


def test_a_full_destination_under_a_baa_may_receive_the_phi_block(program_dir):
    _set_crm(program_dir, '    privacy: full\n    baa: "BAA-2026-01"\n')
    _add_crm_field(program_dir, "{canonical: patient.mrn, native: MRN__c, direction: out}")
    program = load_program(program_dir, settings_models=MODELS, env=ENV)
    assert program.config.connections["crm"].baa == "BAA-2026-01"
