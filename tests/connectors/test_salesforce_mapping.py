"""The default Salesforce mapping and the provisioning source agree with each other, with the
default native schema (the sandbox), and carry canonical records there and back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from ruamel.yaml import YAML
from sf_support import make_connector, sandbox, sf_sandbox  # noqa: F401

from connectors.base import Connector
from connectors.salesforce import SalesforceConnector
from connectors.salesforce.provision import CUSTOM_FIELDS, CUSTOM_OBJECTS, write_sfdx_source
from connectors.sandbox import SalesforceSandbox
from connectors.testing import ProvisionSourceContract
from mapping.model import OutreachActivity, Partner, QualifiedReferralDefinition, Referral
from mapping.schema_check import check_against_schema
from mapping.spec import MappingSpec
from mapping.spec_check import check_mapping
from mapping.transforms import TransformContext
from mapping.translate import native_fields, to_canonical, to_native

MAPPING = Path(__file__).resolve().parents[2] / "config/templates/mappings/salesforce.yaml"
NS = "{http://soap.sforce.com/2006/04/metadata}"
CTX = TransformContext(field="")


@pytest.fixture(scope="module")
def spec() -> MappingSpec:
    return MappingSpec.model_validate(YAML(typ="safe").load(MAPPING.read_text()))


def _value(record: object, path: str) -> object:
    for part in path.split("."):
        record = getattr(record, part)
    return record


def test_the_default_mapping_passes_the_canonical_cross_checks(spec: MappingSpec) -> None:
    assert check_mapping(spec, connection="salesforce", phi_allowed=False, writes=True) == []


def test_the_default_mapping_matches_the_live_schema_of_every_object(
    spec: MappingSpec,
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    connector = make_connector(sandbox)
    related = {name: connector.describe(name) for name in ("Account", "Contact")}
    for entity, em in spec.entities.items():
        schema = connector.describe(em.object)
        problems = check_against_schema(em, schema, direction="both", related=related)
        assert problems == [], entity


def test_every_custom_field_the_mapping_uses_is_provisioned(spec: MappingSpec) -> None:
    provisioned = {(f.object, f.name) for f in CUSTOM_FIELDS}
    activity = {"Task", "Event"}
    for em in spec.entities.values():
        for name in native_fields(em, "both"):
            field = name.rsplit(".", 1)[-1] if "." in name else name
            if not field.endswith("__c"):
                continue
            owner = "Activity" if em.object in activity else em.object
            if "." in name:  # the external id on the far side of a lookup
                assert any(f == field for _, f in provisioned), name
            else:
                assert (owner, field) in provisioned, f"{em.object}.{field}"


def test_provisioned_fields_match_the_default_native_schema(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    connector = make_connector(sandbox)
    for spec_field in CUSTOM_FIELDS:
        # Activity fields show on Task and Event; the default schema lists Task's (the mapping's)
        for obj in ("Task",) if spec_field.object == "Activity" else (spec_field.object,):
            live = connector.describe(obj).fields[spec_field.name]
            assert live.external_id == spec_field.external_id, (obj, spec_field.name)
            if spec_field.kind == "Picklist":
                assert live.picklist_values == spec_field.values, (obj, spec_field.name)
                assert live.restricted_picklist == spec_field.restricted
            if spec_field.kind == "Text":
                assert live.length == spec_field.length, (obj, spec_field.name)


def test_sfdx_source_has_a_manifest_and_one_file_per_object_and_field(tmp_path: Path) -> None:
    written = write_sfdx_source(tmp_path)
    assert len(written) == len(CUSTOM_FIELDS) + len(CUSTOM_OBJECTS) + 3
    manifest = ET.parse(tmp_path / "package.xml").getroot()
    members = {
        t.findtext(f"{NS}name"): [m.text for m in t.findall(f"{NS}members")]
        for t in manifest.findall(f"{NS}types")
    }
    assert sorted(members["CustomObject"]) == sorted(CUSTOM_OBJECTS)
    assert len(members["CustomField"]) == len(CUSTOM_FIELDS)
    stage = ET.parse(tmp_path / "objects/Referral__c/fields/Stage__c.field-meta.xml").getroot()
    assert stage.findtext(f"{NS}type") == "Picklist"
    assert stage.findtext(f"{NS}valueSet/{NS}restricted") == "true"
    values = [v.findtext(f"{NS}fullName") for v in stage.iter(f"{NS}value")]
    assert values[:2] == ["Contacted", "Referred"] and "No Show" in values
    key = ET.parse(tmp_path / "objects/Account/fields/Refsync_Id__c.field-meta.xml").getroot()
    assert (key.findtext(f"{NS}externalId"), key.findtext(f"{NS}unique")) == ("true", "true")
    lookup = ET.parse(tmp_path / "objects/Referral__c/fields/Partner__c.field-meta.xml").getroot()
    assert (lookup.findtext(f"{NS}type"), lookup.findtext(f"{NS}referenceTo")) == (
        "Lookup",
        "Account",
    )
    assert (tmp_path / "objects/Activity/fields/Outreach_Kind__c.field-meta.xml").exists()


def test_the_permission_set_grants_every_provisioned_field(tmp_path: Path) -> None:
    write_sfdx_source(tmp_path)
    path = tmp_path / "permissionsets/Refsync_Integration.permissionset-meta.xml"
    granted = {
        g.findtext(f"{NS}field") for g in ET.parse(path).getroot().iter(f"{NS}fieldPermissions")
    }
    for f in CUSTOM_FIELDS:
        owners = ("Task", "Event") if f.object == "Activity" else (f.object,)
        assert {f"{o}.{f.name}" for o in owners} <= granted


def test_canonical_records_travel_to_salesforce_and_back_unchanged(
    spec: MappingSpec,
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    connector = make_connector(sandbox)
    when = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    partner = Partner(id="p-1", name="Lakeside Family Practice", kind="pcp_practice",
                      relationship_status="active", service_lines=["cardiology", "oncology"])  # fmt: skip
    referral = Referral(id="r-1", referral_number="RN-0001", partner_id="p-1", stage="scheduled",
                        received_at=when, urgency="urgent", reason="chest pain",
                        documents_received=["referral_order"], appointment_at=when)  # fmt: skip
    outreach = OutreachActivity(id="o-1", kind="lunch_and_learn", partner_id="p-1",
                                occurred_at=when, subject="Cardiology lunch")  # fmt: skip
    definition = QualifiedReferralDefinition(id="cardiology-v3", service_line="cardiology",
                                             version="3", required_documents=["referral_order"])  # fmt: skip
    for entity, record in (("partner", partner), ("referral", referral),
                           ("outreach", outreach), ("definition", definition)):  # fmt: skip
        em = spec.entities[entity]
        [result] = connector.upsert(
            em.object, [to_native(em, record, CTX, connector.dialect)], key=em.key
        )
        assert result.ok, (entity, result.error)
    sandbox.advance(1)
    for em, record in ((spec.entities["partner"], partner), (spec.entities["referral"], referral)):
        pages = list(connector.read(em.object, since=None, fields=native_fields(em, "in")))
        [native] = [r for p in pages for r in p.records]
        back = to_canonical(em, native.fields, CTX)
        assert back.errors == []
        # Only what the mapping sends comes back: received_at is read, never sent (the
        # template is deidentified), and reason / appointment_at are not mapped at all.
        sent = {"id"} | {f.canonical for f in em.fields if f.writes}
        for path, value in back.values.items():
            assert value == (_value(record, path) if path in sent else None), path
        assert not {"received_at", "reason", "appointment_at"} & sent
        if em.stage is not None:
            assert back.stage == record.stage


class TestSalesforceProvisionSourceContract(ProvisionSourceContract):
    """The PROVISION_SOURCE suite: the hooks are class methods, so no org is needed."""

    @pytest.fixture
    def connector_type(self) -> type[Connector]:
        return SalesforceConnector
