"""A connector declares what its native fields hold and whether it sits in the covered
entity's PHI zone; `validate` applies that to a third-party connector (installed through the
``refsync.connectors`` entry point) by the same generic path as the scheduling connector, with
no line of mapping/, config/ or sync/ naming it and no patch()."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict
from typer.testing import CliRunner

from connectors.base import Capability, Connector, FieldClass, NativeClasses
from connectors.testing import MemoryConnector, MemorySystem, memory_schema
from mapping.privacy import DataClass, PrivacyTier
from mapping.schema import FieldSchema
from sync.cli import app
from sync.engine.declared import load_declared

SYSTEMS: dict[str, MemorySystem] = {}
"""The lab systems by the name a connection's settings give (the test's own registry)."""


class LabSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str


class _Lab(MemoryConnector):
    settings_model = LabSettings

    @classmethod
    def create(cls, settings: BaseModel, *, environ: Mapping[str, str] | None = None) -> Connector:
        return cls(SYSTEMS[LabSettings.model_validate(settings).system])


class LabRegistry(_Lab):
    """A third party's patient registry export: inside the PHI zone, files on this machine,
    and two fields whose names say nothing of what they hold."""

    name = "lab-registry"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.READ})
    native_field_classes: ClassVar[NativeClasses] = {
        "*": {"ssn_hash": FieldClass(DataClass.DIRECT_IDENTIFIER, "keyed hash of the SSN")},
        "referral": {
            "enrollee_token": FieldClass(DataClass.DIRECT_IDENTIFIER, "the enrollee's token")
        },
    }
    phi_zone = True
    checked_online = False


class PlainRegistry(LabRegistry):
    """The same export from a connector that declares nothing about privacy."""

    name = "lab-registry-plain"
    native_field_classes: ClassVar[NativeClasses] = {}
    phi_zone = False
    checked_online = True


class LabCrm(_Lab):
    """A third party's CRM that keeps no PHI."""

    name = "lab-crm-deid"


CONFIG = """\
version: 1
program: Lab
connections:
  registry:
    type: {source}
    settings: {{system: {tag}-registry}}
  crm:
    type: lab-crm-deid
    privacy: deidentified
    settings: {{system: {tag}-crm}}
jobs:
  registry-to-crm:
    sources: [registry]
    destinations: [crm]
    entities: [referral]
"""

REGISTRY = """\
system: lab-registry
entities:
  referral:
    object: enrollments
    key: number
    fields:
      - {canonical: referral_number, native: number, direction: in}
      - {canonical: urgency, native: NATIVE, direction: in}
"""

CRM = """\
system: lab-crm
entities:
  referral:
    object: deals
    key: ref
    fields:
      - {canonical: referral_number, native: Number}
      - {canonical: urgency, native: Urgency, direction: out}
"""


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A program directory; the lab types are installed as a real distribution would be."""
    site = tmp_path / "site" / "lab_registry-1.0.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-registry\nVersion: 1.0\n")
    (site / "entry_points.txt").write_text(
        "[refsync.connectors]\n"
        f"lab-registry = {__name__}:LabRegistry\n"
        f"lab-registry-plain = {__name__}:PlainRegistry\n"
        f"lab-crm-deid = {__name__}:LabCrm\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry, crm = MemorySystem({}), MemorySystem({})
    crm.schemas = {
        "deals": memory_schema(
            "deals",
            "ref",
            {n: FieldSchema(n, "string") for n in ("Number", "Urgency")},
        )
    }
    registry.schemas = {
        "enrollments": memory_schema(
            "enrollments", "number", {"visit_code": FieldSchema("visit_code", "string")}
        )
    }
    SYSTEMS[f"{tmp_path.name}-registry"], SYSTEMS[f"{tmp_path.name}-crm"] = registry, crm
    root = tmp_path / "program"
    (root / "mappings").mkdir(parents=True)
    (root / "mappings" / "crm.yaml").write_text(CRM)
    return root


def _program(root: Path, *, source: str, native: str) -> Path:
    (root / "refsync.yaml").write_text(CONFIG.format(source=source, tag=root.parent.name))
    (root / "mappings" / "registry.yaml").write_text(REGISTRY.replace("NATIVE", native))
    return root


def _validate(root: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["validate", "--config", str(root), *extra], terminal_width=240
    )
    return result.exit_code, result.output


def _systems(root: Path) -> tuple[MemorySystem, MemorySystem]:
    return SYSTEMS[f"{root.parent.name}-registry"], SYSTEMS[f"{root.parent.name}-crm"]


def test_a_field_a_third_party_connector_declares_an_identifier_is_refused_from_a_deidentified_crm(
    lab: Path,
) -> None:
    root = _program(lab, source="lab-registry", native="ssn_hash")
    code, output = _validate(root)
    assert code == 2, output
    mapping = root / "mappings" / "registry.yaml"
    assert "referral.urgency can carry direct_identifier read from a source" in output
    assert f"registry ssn_hash (direct_identifier, {mapping}:8) -> referral.urgency" in output
    assert f"{root / 'mappings' / 'crm.yaml'}:8:" in output  # at the destination field


def test_the_declaration_not_the_field_name_is_what_refuses_it(lab: Path) -> None:
    code, output = _validate(_program(lab, source="lab-registry", native="enrollee_token"))
    assert code == 2 and "registry enrollee_token (direct_identifier" in output
    code, output = _validate(_program(lab, source="lab-registry-plain", native="enrollee_token"))
    assert code == 0, output


def test_a_type_declared_inside_the_phi_zone_is_full_unless_the_connection_names_a_tier(
    lab: Path,
) -> None:
    registry = load_declared(_program(lab, source="lab-registry", native="visit_code"), env={})
    conn = registry.config.connections["registry"]
    assert conn.tier is PrivacyTier.FULL and conn.covered_entity
    assert registry.native_classes["registry"] is LabRegistry.native_field_classes
    plain = load_declared(_program(lab, source="lab-registry-plain", native="visit_code"), env={})
    assert plain.config.connections["registry"].tier is PrivacyTier.DEIDENTIFIED
    assert not plain.config.connections["registry"].covered_entity


def test_validate_online_leaves_a_connector_not_checked_online_to_the_local_checks(
    lab: Path,
) -> None:
    root = _program(lab, source="lab-registry", native="visit_code")
    registry, crm = _systems(root)
    code, output = _validate(root, "--online")
    assert code == 0, output
    assert registry.calls == 0  # neither checked nor described
    assert crm.calls == 1  # the CRM's check
    code, output = _validate(
        _program(lab, source="lab-registry-plain", native="visit_code"), "--online"
    )
    assert code == 0, output
    assert registry.calls == 1


def test_a_command_that_only_reads_the_state_loads_with_the_declared_phi_zone_as_validate_does(
    tmp_path: Path,
) -> None:
    """A scheduling field left at the default direction (both) is fine inside the PHI zone;
    `refsync jobs` (settings unchecked) must not refuse what `validate` accepts."""
    from config import write_program

    root = tmp_path / "program"
    write_program(root)
    mapping = root / "mappings" / "epic.yaml"
    old = "{canonical: patient.key, native: patient_key, direction: in}"
    assert old in mapping.read_text()
    mapping.write_text(
        mapping.read_text().replace(old, "{canonical: patient.key, native: patient_key}")
    )
    result = CliRunner().invoke(app, ["jobs", "--config", str(root)], terminal_width=240)
    assert result.exit_code == 0, result.output
    program = load_declared(root, check_settings=False)
    assert program.config.connections["epic"].covered_entity
