"""The privacy report (``refsync privacy``): every field that leaves refsync, where to, its
data class, the tier of the place it goes, and why it is allowed there.

Destinations are the connections jobs write to; each written field's classes come from the
data-flow analysis of :mod:`mapping.privacy_flow` (the canonical field's own class plus
every source field read into it). Outputs are the files for people a connection declares
(PEOPLE_FILES, ``people_file_columns``: a scheduling connection's worklist, closure list and
unmatched-appointment review) when its declared output folder is set; they take the tier of
that connection. The report is the record for a compliance review: it prints no
data, only field names and classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel

from config import CONFIG_FILE, Program, locate
from connectors.base import Capability, SettingRole, settings_with_role
from connectors.registry import connector_class
from mapping.errors import ConfigurationError
from mapping.privacy import (
    TIER_ALLOWS,
    DataClass,
    FieldClass,
    NativeClasses,
    PrivacyTier,
    canonical_class,
    native_class,
)
from mapping.privacy_flow import Flow, flows
from mapping.spec import resolve_path

__all__ = ["LeavingField", "output_files", "output_problems", "privacy_rows"]

_OUTPUT_EXTRA: dict[str, FieldClass] = {
    "referral_id": FieldClass(DataClass.OPERATIONAL, "refsync's own record id, random"),
    "accepted_at": FieldClass(DataClass.QUASI_IDENTIFIER, "a date tied to one patient's care"),
    "waiting_since": FieldClass(DataClass.QUASI_IDENTIFIER, "a date tied to one patient's care"),
    "sla": FieldClass(DataClass.OPERATIONAL, "which target: respond or schedule"),
    "referrals": FieldClass(DataClass.OPERATIONAL, "how many referrals name the referrer"),
    "service_lines": FieldClass(DataClass.OPERATIONAL, "the service lines referred to"),
    "score": FieldClass(DataClass.OPERATIONAL, "how close the suggested clinician is (0-1)"),
    **{
        f"suggested_{name}": FieldClass(DataClass.OPERATIONAL, "a known clinician or practice")
        for name in ("clinician_id", "clinician", "clinician_npi", "partner")
    },
    "event_at": FieldClass(DataClass.QUASI_IDENTIFIER, "a date tied to one patient's care"),
    "fhir_ref": FieldClass(DataClass.DIRECT_IDENTIFIER, "the id of a patient's FHIR resource"),
    "service_request_ref": FieldClass(
        DataClass.DIRECT_IDENTIFIER, "the id of a patient's FHIR resource"
    ),
    "status": FieldClass(DataClass.OPERATIONAL, "on time / overdue"),
    "reason": FieldClass(DataClass.OPERATIONAL, "why refsync could not match the row (a code)"),
    "source_file": FieldClass(DataClass.OPERATIONAL, "export file name"),
    "source_line": FieldClass(DataClass.OPERATIONAL, "export line number"),
    "referring_npi": FieldClass(DataClass.OPERATIONAL, "the referring clinician's public NPI"),
    "department": FieldClass(DataClass.OPERATIONAL, "the department's name"),
}
_INTERVAL = FieldClass(DataClass.COARSENED, "whole days, no date")


@dataclass(frozen=True, slots=True)
class LeavingField:
    """One field that leaves refsync, for the report."""

    destination: str
    kind: str  # connection | output
    tier: str
    agreement: str | None
    target: str  # native object or output file
    field: str
    canonical: str | None
    data_class: str
    allowed: bool
    why: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def privacy_rows(program: Program) -> list[LeavingField]:
    """Every field that leaves, for every destination of a job and every output file."""
    conns = program.config.connections
    tiers = {name: conn.tier for name, conn in conns.items()}
    destinations = {d for job in program.config.jobs.values() for d in job.destinations}
    rows: list[LeavingField] = []
    for flow in flows(program.mappings, tiers, program.native_classes):
        if flow.connection in destinations:
            rows.append(_flow_row(program, flow))
    for name in sorted(destinations):
        rows += _stage_and_key_rows(program, name)
    for name in sorted(conns):
        rows += _output_rows(program, name)
    rows += _report_rows()
    return sorted(rows, key=lambda r: (r.destination, r.kind, r.target, r.field))


REPORT_DESTINATION = "refsync report"
RUNS_DESTINATION = "refsync runs"


def _report_rows() -> list[LeavingField]:
    """The program report's tables and what runs keep (tiers in :mod:`sync.privacy_outputs`)."""
    from sync.privacy_outputs import REPORT_TIER, RUN_RECORDS, report_class, report_columns

    tier = REPORT_TIER
    rows = []
    for table, columns in report_columns().items():
        for column in columns:
            fc = report_class(column)
            ok = fc.data_class in TIER_ALLOWS[tier]
            target = f"report.html / {table}.csv"
            why = _why(ok, tier, [fc.data_class], fc.why)
            rows.append(
                LeavingField(REPORT_DESTINATION, "output", tier.value, None, target, column,
                             None, fc.data_class.value, ok, why)
            )  # fmt: skip
    for target, fc in RUN_RECORDS.items():
        why = _why(True, tier, [fc.data_class], fc.why)
        rows.append(
            LeavingField(RUNS_DESTINATION, "output", tier.value, None, target, "*", None,
                         fc.data_class.value, True, why)
        )  # fmt: skip
    return rows


def _agreement(program: Program, name: str) -> str | None:
    conn = program.config.connections[name]
    tier = conn.tier
    if conn.covered_entity:
        return "the covered entity's own system"
    if tier is PrivacyTier.FULL:
        return f"BAA {conn.baa}" if conn.baa else "none named"
    if tier is PrivacyTier.LIMITED:
        return f"DUA {conn.data_use_agreement}" if conn.data_use_agreement else "none named"
    return None


def _why(allowed: bool, tier: PrivacyTier, classes: Iterable[DataClass], reason: str) -> str:
    names = ", ".join(sorted(c.value for c in classes))
    if allowed:
        return f"{tier.value} may hold {names}: {reason}"
    return f"NOT ALLOWED: {tier.value} may not hold {names}: {reason}"


def _flow_row(program: Program, flow: Flow) -> LeavingField:
    em = program.mappings[flow.connection].entities[flow.entity]  # type: ignore[index]
    reason = flow.why
    if flow.origins:
        routes = "; ".join(f"from {o.connection} {o.native}" for o in flow.origins)
        reason = f"{reason} ({routes})"
    return LeavingField(
        destination=flow.connection,
        kind="connection",
        tier=flow.tier.value,
        agreement=_agreement(program, flow.connection),
        target=em.object,
        field=flow.native,
        canonical=f"{flow.entity}.{flow.canonical}",
        data_class=", ".join(sorted(c.value for c in flow.classes)),
        allowed=flow.allowed,
        why=_why(flow.allowed, flow.tier, flow.classes, reason),
    )


def _stage_and_key_rows(program: Program, name: str) -> list[LeavingField]:
    spec = program.mappings.get(name)
    if spec is None:
        return []
    tier = program.config.connections[name].tier
    rows = []
    for entity, em in spec.entities.items():
        pairs = [(em.key, "id", "refsync's own record id (the match key), random")]
        if em.stage is not None:
            pairs.append((em.stage.native, "stage", "the referral's stage"))
        for native, canonical, reason in pairs:
            rows.append(
                LeavingField(
                    name,
                    "connection",
                    tier.value,
                    _agreement(program, name),
                    em.object,
                    native,
                    f"{entity}.{canonical}",
                    DataClass.OPERATIONAL.value,
                    True,
                    _why(True, tier, [DataClass.OPERATIONAL], reason),
                )
            )
    return rows


def output_files(program: Program, name: str) -> Mapping[str, tuple[str, ...]]:
    """File name -> columns of the people files connection ``name`` writes: what its
    connector declares, when the output folder its settings model declares is set."""
    try:
        cls = connector_class(program.config.connections[name].type)
    except (KeyError, ConfigurationError):
        return {}  # the loader reports an unknown or broken type
    if not cls.supports(Capability.PEOPLE_FILES):
        return {}
    settings = program.settings.get(name)
    values = settings.model_dump() if isinstance(settings, BaseModel) else dict(settings or {})
    folders = settings_with_role(cls.settings_model, SettingRole.OUTPUT_DIR)
    return cls.people_file_columns if any(values.get(f) for f in folders) else {}


def _column_class(column: str, declared: NativeClasses) -> FieldClass:
    if column in _OUTPUT_EXTRA:
        return _OUTPUT_EXTRA[column]
    if column.startswith(("days_", "age_", "target_")):
        return _INTERVAL
    try:
        resolve_path("referral", column)
    except KeyError:
        known = native_class(declared, "referral", column)
        return known or FieldClass(DataClass.DIRECT_IDENTIFIER, "not classified")
    return canonical_class("referral", column)


def _output_rows(program: Program, name: str) -> list[LeavingField]:
    tier = program.config.connections[name].tier
    rows = []
    for file_name, columns in output_files(program, name).items():
        for column in columns:
            fc = _column_class(column, program.native_classes.get(name, {}))
            ok = fc.data_class in TIER_ALLOWS[tier]
            rows.append(
                LeavingField(
                    name,
                    "output",
                    tier.value,
                    _agreement(program, name),
                    file_name,
                    column,
                    None,
                    fc.data_class.value,
                    ok,
                    _why(ok, tier, [fc.data_class], fc.why),
                )
            )
    return rows


def output_problems(program: Program) -> list[str]:
    """``file:line:col: message`` for each output file with columns its connection's tier
    may not hold (``validate`` and every run refuse such a program)."""
    refused: dict[tuple[str, str], list[LeavingField]] = {}
    for row in privacy_rows(program):
        if row.kind == "output" and not row.allowed:
            refused.setdefault((row.destination, row.target), []).append(row)
    problems = []
    config = program.root / CONFIG_FILE
    for (name, target), rows in refused.items():
        conn = program.config.connections.get(name)
        if conn is None:  # refsync's own report: a column nobody classed (a refsync bug)
            columns = ", ".join(r.field for r in rows)
            problems.append(f"{name}: {target} has unclassed columns {columns}")
            continue
        key = "privacy" if conn.privacy is not None else "phi_allowed"
        where = locate(config, ("connections", name, key), str(config))
        columns = ", ".join(f"{r.field} ({r.data_class})" for r in rows)
        problems.append(
            f"{where}: connection {name!r} writes {target} into its output folder with "
            f"{columns}, which privacy: {conn.tier.value} may not hold; remove output_dir, or "
            + (
                "let the connection keep its default tier (full: the covered entity's own system)"
                if conn.phi_zone
                else 'set privacy: full and baa: "<your BAA reference>"'
            )
        )
    return problems
