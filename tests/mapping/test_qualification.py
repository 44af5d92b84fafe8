"""Qualification: the closed rule registry, the evaluator and definition selection."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mapping.errors import ConfigurationError
from mapping.model import (
    DefinitionRule,
    PatientPHI,
    QualificationStatus,
    QualifiedReferralDefinition,
    Referral,
    Urgency,
)
from mapping.qualification import (
    RULE_TYPES,
    check_definition,
    check_rule,
    evaluate,
    select_definition,
)

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
CANARY_REASON = "CANARY-DX chest pain"


def cardiology(**kwargs):
    base = {
        "id": "cardiology-v3",
        "service_line": "cardiology",
        "version": "3",
        "required_documents": ["referral_order", "clinical_notes", "insurance_card"],
        "accepted_reasons": ["chest pain", "arrhythmia", "heart failure"],
        "rules": [
            {"type": "required_field", "field": "clinician_id"},
            {"type": "value_in_set", "field": "urgency", "values": ["routine", "urgent"]},
        ],
    }
    return QualifiedReferralDefinition.model_validate(base | kwargs)


def referral(**kwargs):
    base = {
        "id": "ref-1",
        "referral_number": "R-1",
        "service_line": "cardiology",
        "clinician_id": "clin-1",
        "reason": "Chest  Pain",
        "documents_received": ["Referral Order", "clinical-notes", "INSURANCE_CARD"],
        "received_at": datetime(2024, 3, 8, tzinfo=UTC),
    }
    return Referral.model_validate(base | kwargs)


def test_complete_referral_with_an_accepted_reason_is_qualified():
    result = evaluate(referral(), cardiology(), now=NOW)
    assert result.status is QualificationStatus.QUALIFIED
    assert (result.missing, result.failed_rules) == ([], [])
    assert result.definition_version == "3"
    assert result.evaluated_at == NOW


def test_missing_documents_and_fields_make_it_incomplete_and_are_listed():
    result = evaluate(
        referral(documents_received=["referral order"], clinician_id=None), cardiology(), now=NOW
    )
    assert result.status is QualificationStatus.INCOMPLETE
    assert result.missing == [
        "document:clinical_notes",
        "document:insurance_card",
        "field:clinician_id",
    ]
    assert result.failed_rules == []


def test_a_reason_that_is_not_accepted_makes_it_not_eligible_without_echoing_it():
    result = evaluate(referral(reason=CANARY_REASON), cardiology(), now=NOW)
    assert result.status is QualificationStatus.NOT_ELIGIBLE
    assert result.failed_rules == ["the reason is not one of the accepted reasons"]
    assert "CANARY" not in repr(result)


def test_a_failed_eligibility_rule_wins_over_missing_items():
    result = evaluate(referral(urgency=Urgency.STAT, documents_received=[]), cardiology(), now=NOW)
    assert result.status is QualificationStatus.NOT_ELIGIBLE
    assert result.failed_rules == ["urgency must be one of routine, urgent"]
    assert len(result.missing) == 3


def test_no_accepted_reasons_means_any_reason_is_fine():
    result = evaluate(referral(reason=None), cardiology(accepted_reasons=[]), now=NOW)
    assert result.status is QualificationStatus.QUALIFIED


def test_a_missing_reason_is_incomplete_not_ineligible():
    result = evaluate(referral(reason="  "), cardiology(), now=NOW)
    assert result.status is QualificationStatus.INCOMPLETE
    assert result.missing == ["field:reason"]


def _only(rule, **referral_kwargs):
    definition = cardiology(required_documents=[], accepted_reasons=[], rules=[rule])
    return evaluate(referral(**referral_kwargs), definition, now=NOW)


@pytest.mark.parametrize(
    ("rule", "referral_kwargs", "status", "item"),
    [
        ({"type": "required_field", "field": "partner_id"}, {}, "incomplete", "field:partner_id"),
        ({"type": "required_field", "field": "clinician_id"}, {}, "qualified", None),
        ({"type": "value_in_set", "field": "urgency", "values": ["URGENT"]}, {"urgency": "urgent"}, "qualified", None),
        ({"type": "value_in_set", "field": "service_line", "values": ["ortho"]}, {}, "not_eligible", "service_line must be one of ortho"),
        ({"type": "value_in_set", "field": "partner_id", "values": ["p"]}, {}, "incomplete", "field:partner_id"),
        ({"type": "value_in_set", "field": "documents_received", "values": ["Referral Order", "clinical-notes", "INSURANCE_CARD"]}, {}, "qualified", None),
        ({"type": "value_not_in_set", "field": "urgency", "values": ["stat"]}, {"urgency": "stat"}, "not_eligible", "urgency must not be one of stat"),
        ({"type": "value_not_in_set", "field": "partner_id", "values": ["p"]}, {}, "qualified", None),
        ({"type": "document_present", "value": "imaging"}, {}, "incomplete", "document:imaging"),
        ({"type": "document_present", "values": ["Clinical Notes"]}, {}, "qualified", None),
        ({"type": "min_documents", "value": 4}, {}, "incomplete", "documents:at least 4"),
        ({"type": "min_documents", "value": 3}, {}, "qualified", None),
        ({"type": "reason_accepted", "values": ["syncope"]}, {}, "not_eligible", "the reason is not one of the accepted reasons"),
        ({"type": "reason_accepted", "values": ["chest pain"]}, {}, "qualified", None),
        ({"type": "field_length", "field": "reason", "value": {"min": 20}}, {}, "not_eligible", "reason must be at least 20 characters"),
        ({"type": "field_length", "field": "reason", "value": {"max": 20}, "description": "keep it short"}, {}, "qualified", None),
        ({"type": "received_within_days", "value": 1}, {}, "not_eligible", "the referral must be evaluated within 1 days of being received"),
        ({"type": "received_within_days", "value": 2}, {}, "qualified", None),
        ({"type": "received_within_days", "value": 2}, {"received_at": None}, "incomplete", "field:received_at"),
        ({"type": "patient_age_between", "value": {"max": 17}}, {"patient": PatientPHI(birth_date=date(2006, 3, 11))}, "qualified", None),
        ({"type": "patient_age_between", "value": {"max": 17}}, {"patient": PatientPHI(birth_date=date(2006, 3, 10))}, "not_eligible", "the patient must be at most 17 years old"),
        ({"type": "patient_age_between", "value": {"min": 18}}, {}, "incomplete", "field:patient.birth_date"),
        ({"type": "value_in_set", "field": "urgency", "values": ["routine"], "description": "routine referrals only"}, {"urgency": "stat"}, "not_eligible", "routine referrals only"),
    ],
)  # fmt: skip
def test_each_rule_type(rule, referral_kwargs, status, item):
    result = _only(DefinitionRule.model_validate(rule), **referral_kwargs)
    assert result.status == QualificationStatus(status)
    assert result.missing + result.failed_rules == ([item] if item else [])


def test_every_registered_rule_type_is_covered_above():
    assert set(RULE_TYPES) == {
        "required_field", "value_in_set", "value_not_in_set", "document_present",
        "min_documents", "reason_accepted", "field_length", "received_within_days",
        "patient_age_between",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"type": "required_feild", "field": "x"}, "unknown rule type 'required_feild'; did you mean 'required_field'?"),
        ({"type": "required_field"}, "needs `field`"),
        ({"type": "required_field", "field": "patient.shoe_size"}, "unknown referral field 'patient.shoe_size'"),
        ({"type": "value_in_set", "field": "urgency"}, "needs `values`"),
        ({"type": "min_documents", "value": "three"}, "whole number"),
        ({"type": "min_documents", "value": True}, "whole number"),
        ({"type": "document_present"}, "needs `value`"),
        ({"type": "field_length", "field": "reason", "value": 5}, "value: {min: N, max: M}"),
        ({"type": "field_length", "field": "reason", "value": {"min": 9, "max": 2}}, "greater than"),
        ({"type": "patient_age_between", "value": {"min": 1, "maxi": 2}}, "value: {min: N, max: M}"),
    ],
)  # fmt: skip
def test_check_rule_names_each_configuration_problem(rule, problem):
    problems = check_rule(DefinitionRule.model_validate(rule))
    assert len(problems) >= 1
    assert problem in problems[0]


def test_valid_rules_have_no_problems():
    assert check_definition(cardiology()) == []
    assert check_rule(DefinitionRule(type="required_field", field="patient.mrn")) == []


def test_evaluate_refuses_an_unvalidated_definition_with_every_problem_listed():
    bad = cardiology(rules=[{"type": "nope"}, {"type": "required_field"}])
    with pytest.raises(ConfigurationError) as info:
        evaluate(referral(), bad, now=NOW)
    assert "cardiology-v3" in info.value.message
    assert [p.split(":")[0] for p in info.value.problems] == ["rules[0]", "rules[1]"]


# -- select_definition -----------------------------------------------------------------------


def _definition(version, service_line="cardiology", effective_from=None):
    return cardiology(
        id=f"{service_line}-v{version}",
        version=version,
        service_line=service_line,
        effective_from=effective_from,
    )


def test_select_definition_picks_the_highest_version_in_effect():
    defs = [
        _definition("2"),
        _definition("10", effective_from=date(2024, 6, 1)),
        _definition("9", effective_from=date(2024, 1, 1)),
        _definition("11", service_line="oncology"),
    ]
    assert select_definition(referral(), defs, NOW).version == "9"
    assert select_definition(referral(), defs, datetime(2024, 6, 1, tzinfo=UTC)).version == "10"
    assert select_definition(referral(), defs, date(2023, 1, 1)).version == "2"


def test_select_definition_matches_service_lines_case_insensitively():
    assert select_definition(referral(service_line="Cardiology "), [_definition("1")], NOW)


def test_select_definition_returns_none_when_nothing_fits():
    defs = [_definition("1", effective_from=date(2025, 1, 1))]
    assert select_definition(referral(), defs, NOW) is None
    assert select_definition(referral(service_line=None), [_definition("1")], NOW) is None
    assert select_definition(referral(service_line="ortho"), [_definition("1")], NOW) is None
