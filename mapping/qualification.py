"""Qualified-referral evaluation: referral + definition -> qualified / incomplete / not eligible.

A definition contributes two built-in checks (every ``required_documents`` entry is present;
the reason is one of ``accepted_reasons`` when that list is not empty) and its ``rules``, each
from the closed registry :data:`RULE_TYPES` (no expression language, no eval).

A rule either finds something **missing** (a document, an empty field: the referral is
*incomplete* until intake supplies it) or **fails** (the referral is *not eligible*). Failure
wins over missing. Missing items read ``document:<name>`` or ``field:<canonical path>``;
failed rules are the rule's ``description`` or a generated sentence. Neither ever contains a
value from the referral (it may be PHI).

Documents and reasons compare case-insensitively; documents also ignore punctuation, so
``Referral Order`` satisfies ``referral_order``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, get_args

from pydantic import BaseModel

from mapping.errors import ConfigurationError
from mapping.model import (
    DefinitionRule,
    QualificationResult,
    QualificationStatus,
    QualifiedReferralDefinition,
    Referral,
)

__all__ = [
    "RULE_TYPES",
    "Outcome",
    "RuleType",
    "check_definition",
    "check_rule",
    "document_key",
    "evaluate",
    "select_definition",
    "service_line_key",
    "version_key",
]


# -- the closed registry of rule types ----------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one rule found: items ``missing`` (incomplete) and ``failed`` rules (not eligible)."""

    missing: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleType:
    """One rule type: ``check`` lists configuration problems, ``evaluate`` applies the rule."""

    name: str
    summary: str
    check: Callable[[DefinitionRule], list[str]]
    evaluate: Callable[[Referral, DefinitionRule, QualifiedReferralDefinition, datetime], Outcome]
    args: tuple[str, ...] = field(default=())


def document_key(name: str) -> str:
    """Comparison key of a document name: ``Referral Order`` and ``referral_order`` match."""
    return re.sub(r"[^0-9a-z]+", "_", name.casefold()).strip("_")


def _submodel(annotation: Any) -> type[BaseModel] | None:
    for arg in (annotation, *get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _field_problems(rule: DefinitionRule) -> list[str]:
    if not rule.field:
        return ["needs `field`: a canonical referral field such as clinician_id"]
    model: type[BaseModel] | None = Referral
    for part in rule.field.split("."):
        info = model.model_fields.get(part) if model is not None else None
        if info is None:
            return [f"unknown referral field {rule.field!r}"]
        model = _submodel(info.annotation)
    return []


def _values_problems(rule: DefinitionRule) -> list[str]:
    return [] if rule.values else ["needs `values`: the list of values it compares against"]


def _count_problems(rule: DefinitionRule) -> list[str]:
    ok = isinstance(rule.value, int) and not isinstance(rule.value, bool) and rule.value >= 1
    return [] if ok else ["needs `value`: a whole number of at least 1"]


def _range(rule: DefinitionRule) -> tuple[int | None, int | None]:
    value = rule.value if isinstance(rule.value, dict) else {}
    return value.get("min"), value.get("max")


def _range_problems(rule: DefinitionRule) -> list[str]:
    wrong = ["needs `value: {min: N, max: M}` with whole numbers (either may be left out)"]
    if not isinstance(rule.value, dict) or not rule.value or set(rule.value) - {"min", "max"}:
        return wrong
    low, high = _range(rule)
    if any(v is not None and (not isinstance(v, int) or isinstance(v, bool)) for v in (low, high)):
        return wrong
    if low is not None and high is not None and low > high:
        return ["`value.min` is greater than `value.max`"]
    return []


def _resolve(referral: Referral, path: str) -> Any:
    value: Any = referral
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return _plain(value)


def _empty(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | dict):
        return not value
    return value is None


def _label(rule: DefinitionRule, default: str) -> str:
    return rule.description or default


def _range_text(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


def _in_range(number: int, low: int | None, high: int | None) -> bool:
    return (low is None or number >= low) and (high is None or number <= high)


def _required_field(r: Referral, rule: DefinitionRule, d: Any, now: datetime) -> Outcome:
    path = rule.field or ""
    return Outcome(missing=(f"field:{path}",)) if _empty(_resolve(r, path)) else Outcome()


def _membership(r: Referral, rule: DefinitionRule, *, inside: bool) -> Outcome:
    path = rule.field or ""
    value = _resolve(r, path)
    if _empty(value):
        return Outcome(missing=(f"field:{path}",)) if inside else Outcome()
    allowed = {_fold(str(v)) for v in rule.values}
    items = value if isinstance(value, list | tuple | set) else [value]
    hits = [_fold(str(_plain(item))) in allowed for item in items]
    if all(hits) if inside else not any(hits):
        return Outcome()
    verb = "must be one of" if inside else "must not be one of"
    return Outcome(failed=(_label(rule, f"{path} {verb} {', '.join(rule.values)}"),))


def _value_in_set(r: Referral, rule: DefinitionRule, d: Any, now: datetime) -> Outcome:
    return _membership(r, rule, inside=True)


def _value_not_in_set(r: Referral, rule: DefinitionRule, d: Any, now: datetime) -> Outcome:
    return _membership(r, rule, inside=False)


def _document_problems(rule: DefinitionRule) -> list[str]:
    ok = (isinstance(rule.value, str) and rule.value.strip()) or rule.values
    return [] if ok else ["needs `value` (a document name) or `values` (several)"]


def _document_present(r: Referral, rule: DefinitionRule, d: Any, now: datetime) -> Outcome:
    wanted = [rule.value] if isinstance(rule.value, str) else []
    have = {document_key(doc) for doc in r.documents_received}
    missing = [f"document:{w}" for w in [*wanted, *rule.values] if document_key(w) not in have]
    return Outcome(missing=tuple(missing))


def _min_documents(r: Referral, rule: DefinitionRule, d: Any, now: datetime) -> Outcome:
    if len({document_key(doc) for doc in r.documents_received}) >= rule.value:
        return Outcome()
    return Outcome(missing=(f"documents:at least {rule.value}",))


def _reason_accepted(
    r: Referral, rule: DefinitionRule, d: QualifiedReferralDefinition, now: datetime
) -> Outcome:
    accepted = {_fold(v) for v in (rule.values or d.accepted_reasons)}
    if not accepted:
        return Outcome()
    if r.reason is None or not r.reason.strip():
        return Outcome(missing=("field:reason",))
    if _fold(r.reason) in accepted:
        return Outcome()
    return Outcome(failed=(_label(rule, "the reason is not one of the accepted reasons"),))


def _field_length(r: Referral, rule: DefinitionRule, d: Any, now: datetime) -> Outcome:
    path = rule.field or ""
    value = _resolve(r, path)
    if _empty(value):
        return Outcome(missing=(f"field:{path}",))
    low, high = _range(rule)
    if _in_range(len(str(value).strip()), low, high):
        return Outcome()
    return Outcome(failed=(_label(rule, f"{path} must be {_range_text(low, high)} characters"),))


def _received_within_days(r: Referral, rule: DefinitionRule, d: Any, now: datetime) -> Outcome:
    if r.received_at is None:
        return Outcome(missing=("field:received_at",))
    if (now - r.received_at).days <= rule.value:
        return Outcome()
    default = f"the referral must be evaluated within {rule.value} days of being received"
    return Outcome(failed=(_label(rule, default),))


def _patient_age_between(r: Referral, rule: DefinitionRule, d: Any, now: datetime) -> Outcome:
    born = r.patient.birth_date if r.patient is not None else None
    if born is None:
        return Outcome(missing=("field:patient.birth_date",))
    today = now.date()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    low, high = _range(rule)
    if _in_range(age, low, high):
        return Outcome()
    return Outcome(
        failed=(_label(rule, f"the patient must be {_range_text(low, high)} years old"),)
    )


def _no_problems(rule: DefinitionRule) -> list[str]:
    return []


def _both(*checks: Callable[[DefinitionRule], list[str]]) -> Callable[[DefinitionRule], list[str]]:
    def check(rule: DefinitionRule) -> list[str]:
        return [problem for c in checks for problem in c(rule)]

    return check


RULE_TYPES: Mapping[str, RuleType] = {
    t.name: t
    for t in (
        RuleType("required_field", "the field must not be empty (else incomplete)",
                 _field_problems, _required_field, ("field",)),
        RuleType("value_in_set", "the field's value (each item of a list) must be in `values`",
                 _both(_field_problems, _values_problems), _value_in_set, ("field", "values")),
        RuleType("value_not_in_set", "the field's value must not be in `values`",
                 _both(_field_problems, _values_problems), _value_not_in_set, ("field", "values")),
        RuleType("document_present", "the documents in `value`/`values` were received "
                 "(else incomplete)", _document_problems, _document_present, ("value", "values")),
        RuleType("min_documents", "at least `value` distinct documents were received",
                 _count_problems, _min_documents, ("value",)),
        RuleType("reason_accepted", "the reason is in `values` (default: accepted_reasons)",
                 _no_problems, _reason_accepted, ("values",)),
        RuleType("field_length", "the field's text length is within `value: {min, max}`",
                 _both(_field_problems, _range_problems), _field_length, ("field", "value")),
        RuleType("received_within_days", "evaluated at most `value` days after received_at",
                 _count_problems, _received_within_days, ("value",)),
        RuleType("patient_age_between", "patient age in years is within `value: {min, max}`",
                 _range_problems, _patient_age_between, ("value",)),
    )
}  # fmt: skip
"""The closed registry of rule types a definition may use."""


def check_rule(rule: DefinitionRule) -> list[str]:
    """Configuration problems of one rule (unknown type, missing or wrong arguments)."""
    rule_type = RULE_TYPES.get(rule.type)
    if rule_type is None:
        close = difflib.get_close_matches(rule.type, RULE_TYPES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(RULE_TYPES))
        return [f"unknown rule type {rule.type!r}{hint} Known rule types: {known}"]
    return [f"rule type {rule.type!r}: {problem}" for problem in rule_type.check(rule)]


def check_definition(definition: QualifiedReferralDefinition) -> list[str]:
    """Every configuration problem of a definition's rules, each prefixed ``rules[i]``."""
    return [
        f"rules[{i}]: {problem}"
        for i, rule in enumerate(definition.rules)
        for problem in check_rule(rule)
    ]


def _builtin(referral: Referral, definition: QualifiedReferralDefinition, now: datetime) -> Outcome:
    have = {document_key(d) for d in referral.documents_received}
    docs = [f"document:{d}" for d in definition.required_documents if document_key(d) not in have]
    reason = _reason_accepted(referral, DefinitionRule(type="reason_accepted"), definition, now)
    return Outcome((*docs, *reason.missing), reason.failed)


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def evaluate(
    referral: Referral, definition: QualifiedReferralDefinition, *, now: datetime
) -> QualificationResult:
    """Qualify ``referral`` against ``definition`` as of ``now`` (rules may look at time).

    Raises :class:`ConfigurationError` when a rule is malformed (``check_definition`` finds
    those at validation time, so this only happens with an unvalidated definition).
    """
    problems = check_definition(definition)
    if problems:
        raise ConfigurationError(
            f"qualified-referral definition {definition.id!r} has invalid rules; "
            "run `refsync validate` and fix them",
            problems=problems,
        )
    outcomes = [_builtin(referral, definition, now)]
    outcomes += [
        RULE_TYPES[rule.type].evaluate(referral, rule, definition, now) for rule in definition.rules
    ]
    missing = _unique(item for o in outcomes for item in o.missing)
    failed = _unique(item for o in outcomes for item in o.failed)
    if failed:
        status = QualificationStatus.NOT_ELIGIBLE
    elif missing:
        status = QualificationStatus.INCOMPLETE
    else:
        status = QualificationStatus.QUALIFIED
    return QualificationResult(
        status=status,
        missing=missing,
        failed_rules=failed,
        definition_version=definition.version,
        evaluated_at=now,
    )


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key of a definition version in natural order: "v10" after "v9", "10" after "9"."""
    return _version_key(version)


def service_line_key(line: str) -> str:
    """Service lines compare case- and space-insensitively ("Cardiology " is "cardiology")."""
    return _fold(line)


def _version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    # Natural order: "10" after "9", "v2" after "v1"; numbers sort before text.
    parts = (p for p in re.split(r"(\d+)", version.strip()) if p)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.casefold()) for p in parts)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def select_definition(
    referral: Referral,
    definitions: Sequence[QualifiedReferralDefinition],
    at: datetime | date,
) -> QualifiedReferralDefinition | None:
    """The definition for the referral's service line in effect at ``at``.

    Among definitions of that service line whose ``effective_from`` is unset or not after
    ``at`` (the caller usually passes ``received_at``), the highest version wins (natural
    order: ``10`` > ``9``); ties go to the later ``effective_from``. None when nothing fits.
    """
    if not referral.service_line:
        return None
    line = _fold(_plain(referral.service_line))
    day = at.date() if isinstance(at, datetime) else at
    candidates = [
        d
        for d in definitions
        if _fold(d.service_line) == line and (d.effective_from is None or d.effective_from <= day)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda d: (_version_key(d.version), d.effective_from or date.min))
