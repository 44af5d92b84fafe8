"""`refsync provision TYPE` and `validate` work for any connector that declares provisioning:
a third-party connector (installed through the ``refsync.connectors`` entry point, backed by
the in-memory system of :mod:`connectors.testing`) is planned, provisioned and checked by the
same generic path as HubSpot, with no line of sync/ naming it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict
from typer.testing import CliRunner

from connectors.base import AT_TIER, Connector, LocalProblem, PhiFields
from connectors.testing import MemoryProvisioner, MemorySystem, memory_schema
from mapping.privacy import PrivacyTier
from mapping.schema import FieldSchema
from sync.cli import app

SYSTEMS: dict[str, MemorySystem] = {}
"""The lab systems by the name a connection's settings give (the test's own registry)."""


class LabSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str


class LabConnector(MemoryProvisioner):
    """A third party's connector: a CRM that keeps no PHI, provisioned through its API."""

    name = "lab-crm"
    settings_model = LabSettings

    @classmethod
    def create(cls, settings: BaseModel, *, environ: Mapping[str, str] | None = None) -> Connector:
        system = SYSTEMS[LabSettings.model_validate(settings).system]
        needs = {"things": memory_schema("things", "ref", {"name": FieldSchema("name", "string")})}
        return cls(system, needs)

    @classmethod
    def tier_problems(
        cls, settings: BaseModel, tier: PrivacyTier, phi_fields: PhiFields
    ) -> list[LocalProblem]:
        if tier is PrivacyTier.DEIDENTIFIED:
            return []
        return [LocalProblem(AT_TIER, "the lab CRM keeps no PHI", "set privacy: deidentified")]


CONFIG = """\
version: 1
program: Lab
connections:
  crm:
    type: lab-crm
    privacy: {privacy}
    settings: {{system: {system}}}
"""

MAPPING = """\
system: lab-crm
entities:
  partner:
    object: things
    key: ref
    fields:
      - {canonical: name, native: name}
"""


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, MemorySystem]:
    """A program whose one connection is of the installed type ``lab-crm``, on an empty system."""
    site = tmp_path / "site" / "lab_crm-1.0.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-crm\nVersion: 1.0\n")
    (site / "entry_points.txt").write_text(
        f"[refsync.connectors]\nlab-crm = {__name__}:LabConnector\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    system = MemorySystem({})
    SYSTEMS[tmp_path.name] = system
    root = tmp_path / "program"
    (root / "mappings").mkdir(parents=True)
    (root / "refsync.yaml").write_text(CONFIG.format(privacy="deidentified", system=tmp_path.name))
    (root / "mappings" / "crm.yaml").write_text(MAPPING)
    return root, system


def _refsync(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=240)
    return result.exit_code, result.output


def test_a_third_party_connector_declaring_provision_is_planned_then_provisioned_by_the_cli(
    lab: tuple[Path, MemorySystem],
) -> None:
    root, system = lab
    code, output = _refsync("provision", "lab-crm", "--connection", "crm", "--config", str(root))
    assert code == 0, output
    assert "things: create object things (2 fields)" in output
    assert "dry run" in output
    assert system.schemas == {} and system.calls == 0  # planning changed nothing
    code, output = _refsync(
        "provision", "lab-crm", "--connection", "crm", "--config", str(root), "--apply"
    )
    assert code == 0, output
    assert "made 1 changes" in output
    assert set(system.schemas["things"].fields) == {"ref", "name"}
    assert system.calls == 1
    code, output = _refsync(
        "provision", "lab-crm", "--connection", "crm", "--config", str(root), "--apply"
    )
    assert "made 0 changes" in output and "create" not in output


def test_validate_online_names_the_generic_provision_command_for_a_third_party_connector(
    lab: tuple[Path, MemorySystem],
) -> None:
    root, system = lab
    system.schemas = {"things": memory_schema("things", "ref", {})}  # lacks `name`
    code, output = _refsync("validate", "--config", str(root), "--online")
    assert code == 2
    assert "the account lacks 1 things run writes to: things: create field name" in output
    assert f"fix: refsync provision lab-crm --config {root} --connection crm --apply" in output


def test_a_third_party_connectors_tier_problem_is_refused_at_the_connections_privacy_line(
    lab: tuple[Path, MemorySystem],
) -> None:
    root, _ = lab
    config = root / "refsync.yaml"
    text = config.read_text().replace("privacy: deidentified", 'privacy: full\n    baa: "BAA-1"')
    config.write_text(text)
    code, output = _refsync("validate", "--config", str(root))
    assert code == 2
    assert f"{config}:6:" in output
    assert "connection 'crm': the lab CRM keeps no PHI; fix: set privacy: deidentified" in output


def test_provisioning_a_type_that_declares_none_names_what_to_do(tmp_path: Path) -> None:
    code, output = _refsync("provision", "warehouse", "--config", str(tmp_path))
    assert code == 2
    assert "connection type 'warehouse' declares no provisioning" in output


def test_a_connector_provisioned_from_source_files_asks_for_out(tmp_path: Path) -> None:
    code, output = _refsync("provision", "salesforce", "--config", str(tmp_path))
    assert code == 2
    assert "salesforce is provisioned from source files: add --out DIR" in output
    code, output = _refsync("provision", "salesforce", "--out", str(tmp_path / "sfdx"))
    assert code == 0, output
    assert f"deploy them with: sf project deploy start --source-dir {tmp_path / 'sfdx'}" in output
