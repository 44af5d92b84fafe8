"""``refsync privacy --json``: the report of record, as a versioned document.

The shape is a pydantic model, so it is written down once: ``refsync privacy --json-schema``
prints its JSON Schema (kept in ``docs/privacy-report.schema.json``; a test fails when the
two differ, so a change to the shape is a deliberate one with a new ``schema_version``).
A reviewer's tooling can rely on it: fields are added only with a new version.

Per destination it names the tier, the agreement that allows it (the BAA behind ``full``,
the data use agreement behind ``limited``, or the covered entity's own system), a HubSpot
account's sensitive-data level, and how many fields leave and are refused; then every field
that leaves, as :class:`sync.privacy_report.LeavingField` rows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from config import Program
from mapping.privacy import PrivacyTier
from sync.privacy_report import LeavingField, output_problems, privacy_rows
from sync.privacy_tiers import phi_storage, tier_problems

__all__ = ["SCHEMA_VERSION", "Destination", "Field", "PrivacyDocument", "privacy_document"]

SCHEMA_VERSION: Literal[1] = 1

AgreementKind = Literal["baa", "data_use_agreement", "covered_entity", "none"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Destination(_Strict):
    """One place data leaves to: a connection refsync writes, or an output."""

    name: str
    kind: Literal["connection", "output"]
    type: str
    tier: PrivacyTier
    agreement_kind: AgreementKind
    agreement: str | None
    sensitive_data: str | None
    fields: int
    refused: int


class Field(_Strict):
    """One field that leaves (see :class:`sync.privacy_report.LeavingField`)."""

    destination: str
    kind: Literal["connection", "output"]
    tier: PrivacyTier
    agreement: str | None
    target: str
    field: str
    canonical: str | None
    data_class: str
    allowed: bool
    why: str


class PrivacyDocument(_Strict):
    """What ``refsync privacy --json`` prints."""

    schema_version: Literal[1] = SCHEMA_VERSION
    program: str
    destinations: list[Destination]
    fields: list[Field]
    refused: int
    problems: list[str]
    """Configuration problems of the privacy tiers (``file:line:col: message``), as
    ``validate`` reports them: outputs above their tier, a full HubSpot without
    sensitive-data properties."""


def _agreement(program: Program, name: str) -> tuple[AgreementKind, str | None]:
    conns = program.config.connections
    conn = conns.get(name)
    if conn is None:
        return "none", None
    if conn.covered_entity:
        return "covered_entity", None
    if conn.tier is PrivacyTier.FULL:
        return "baa", conn.baa
    if conn.tier is PrivacyTier.LIMITED:
        return "data_use_agreement", conn.data_use_agreement
    return "none", None


def _destination(program: Program, key: tuple[str, str], rows: list[LeavingField]) -> Destination:
    name, kind = key
    conn = program.config.connections.get(name)
    agreement_kind, agreement = _agreement(program, name)
    return Destination(
        name=name,
        kind=kind,
        type=conn.type if conn is not None else "refsync",
        tier=PrivacyTier(rows[0].tier),
        agreement_kind=agreement_kind,
        agreement=agreement,
        sensitive_data=phi_storage(program, name) if conn is not None else None,
        fields=len(rows),
        refused=sum(1 for r in rows if not r.allowed),
    )


def privacy_document(program: Program) -> PrivacyDocument:
    """The report of record for ``program``."""
    rows = privacy_rows(program)
    grouped: dict[tuple[str, str], list[LeavingField]] = {}
    for row in rows:
        grouped.setdefault((row.destination, row.kind), []).append(row)
    return PrivacyDocument(
        program=program.root.name,
        destinations=[_destination(program, k, v) for k, v in sorted(grouped.items())],
        fields=[Field.model_validate(r.as_json()) for r in rows],
        refused=sum(1 for r in rows if not r.allowed),
        problems=output_problems(program) + tier_problems(program),
    )
