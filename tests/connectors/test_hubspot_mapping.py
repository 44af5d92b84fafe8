"""The default HubSpot mapping (config/templates/mappings/hubspot.yaml) round-trips every
entity through the real client: canonical -> native -> HubSpot -> native -> canonical."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hubspot_support import connector_for, hs, hubspot_sandbox  # noqa: F401
from ruamel.yaml import YAML

from connectors.sandbox.hubspot import HubSpotSandbox
from mapping.model import (
    Clinician,
    OutreachActivity,
    Partner,
    QualifiedReferralDefinition,
    Referral,
    Stage,
)
from mapping.spec import MappingSpec
from mapping.transforms import TransformContext
from mapping.translate import native_fields, to_canonical, to_native

MAPPING = Path(__file__).resolve().parents[2] / "config/templates/mappings/hubspot.yaml"
CTX = TransformContext("America/Chicago")
WHEN = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def spec() -> MappingSpec:
    return MappingSpec.model_validate(YAML(typ="safe").load(MAPPING.read_text()))


def _round_trip(hs: HubSpotSandbox, spec: MappingSpec, entity: str, record) -> dict:  # noqa: F811
    em = spec.entities[entity]
    connector = connector_for(hs)
    [result] = connector.upsert(
        em.object, [to_native(em, record, CTX, connector.dialect)], key=em.key
    )
    assert result.ok, result.error
    until = datetime.now(UTC) + timedelta(seconds=30)
    pages = connector.read(em.object, since=None, fields=native_fields(em, "in"), until=until)
    [native] = [r for p in pages for r in p.records if r.fields.get(em.key) == record.id]
    inbound = to_canonical(em, native.fields, CTX)
    assert inbound.ok, inbound.errors
    return {**inbound.values, "stage": inbound.stage}


def test_every_mapped_property_exists_in_the_provisioned_account(
    hs: HubSpotSandbox,  # noqa: F811
    spec: MappingSpec,
) -> None:
    connector = connector_for(hs)
    for em in spec.entities.values():
        schema = connector.describe(em.object)
        assert [f for f in native_fields(em, "both") if f not in schema.fields] == []
        assert schema.fields[em.key].unique


def test_partners_clinicians_and_referrals_round_trip_with_stage_and_links(
    hs: HubSpotSandbox,  # noqa: F811
    spec: MappingSpec,
) -> None:
    partner = Partner(id="mp-partner-1", name="Lakeside Family Practice", kind="pcp_practice",
                      npi="1234567893", relationship_status="active", service_lines=["cardiology"],
                      referrals_total=12)  # fmt: skip
    read = _round_trip(hs, spec, "partner", partner)
    assert read["name"] == "Lakeside Family Practice" and read["npi"] == "1234567893"
    assert read["kind"] == "pcp_practice" and read["service_lines"] == ["cardiology"]
    clinician = Clinician(id="mp-clin-1", first_name="Ana", last_name="Ruiz", role="physician",
                          partner_id="mp-partner-1", email="ana.ruiz@lakeside.example")  # fmt: skip
    read = _round_trip(hs, spec, "clinician", clinician)
    assert read["partner_id"] == "mp-partner-1" and read["last_name"] == "Ruiz"
    referral = Referral(id="mp-ref-1", referral_number="R-0001", partner_id="mp-partner-1",
                        clinician_id="mp-clin-1", stage=Stage.INTAKE_RECEIVED, received_at=WHEN,
                        urgency="urgent", received_week="2026-W11", days_to_schedule=4)  # fmt: skip
    read = _round_trip(hs, spec, "referral", referral)
    assert read["stage"] == Stage.INTAKE_RECEIVED
    assert read["partner_id"] == "mp-partner-1" and read["clinician_id"] == "mp-clin-1"
    assert read["urgency"] == "urgent"
    # Deidentified by default: the week and the interval leave, the receipt date does not.
    [deal] = [
        d["properties"]
        for d in hs.records("deals")
        if d["properties"].get("refsync_id") == "mp-ref-1"
    ]
    assert deal["refsync_received_week"] == "2026-W11"
    assert float(deal["refsync_days_to_schedule"]) == 4
    assert not deal.get("refsync_received_at")


def test_outreach_and_definitions_round_trip(hs: HubSpotSandbox, spec: MappingSpec) -> None:  # noqa: F811
    _round_trip(hs, spec, "partner", Partner(id="mp-partner-2", name="Northside Clinic"))
    call = OutreachActivity(id="mp-out-1", kind="call", partner_id="mp-partner-2",
                            occurred_at=WHEN, subject="Intro call", notes="Discussed intake")  # fmt: skip
    read = _round_trip(hs, spec, "outreach", call)
    assert read["kind"] == "call" and read["subject"] == "Intro call"
    assert read["occurred_at"] == WHEN and read["partner_id"] == "mp-partner-2"
    assert [r["id"] for r in hs.records("calls") if r["properties"].get("refsync_id") == "mp-out-1"]
    definition = QualifiedReferralDefinition(id="mp-def-cardiology-3", service_line="cardiology",
                                             version="3", required_documents=["referral_order"])  # fmt: skip
    em = spec.entities["definition"]
    connector = connector_for(hs)
    [result] = connector.upsert(
        em.object, [to_native(em, definition, CTX, connector.dialect)], key=em.key
    )
    assert result.ok, result.error
