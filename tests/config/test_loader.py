"""Loading a program directory: every problem at once, each with file, line and column."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from config import Program, load_program
from connectors.scheduling import SchedulingConnector
from mapping.errors import ConfigurationError, SecretError
from mapping.model import Stage
from mapping.privacy import TypePrivacy
from mapping.setting_roles import SettingRole

FIXTURE = Path(__file__).parent / "fixtures" / "program"
ENV = {"CRM_TOKEN": "token-from-env"}


class CrmSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instance_url: str
    access_token: SecretStr
    timeout_seconds: float = 30.0


class ClinicSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: Annotated[Path, SettingRole.PROGRAM_PATH]
    output_dir: Annotated[Path | None, SettingRole.OUTPUT_DIR] = None
    label_dir: str | None = None  # named like a folder, declared as none


MODELS = {"salesforce": CrmSettings, "scheduling": ClinicSettings}
PRIVACY = {
    "scheduling": TypePrivacy(
        phi_zone=SchedulingConnector.phi_zone,
        native_classes=SchedulingConnector.native_field_classes,
    )
}
"""What the registry hands the loader for the scheduling type (its connector declares it)."""


@pytest.fixture
def program_dir(tmp_path: Path) -> Path:
    root = tmp_path / "prog"
    shutil.copytree(FIXTURE, root)
    return root


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(root: Path, *, env=ENV, models=MODELS, privacy=PRIVACY) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        load_program(root, settings_models=models, privacy=privacy, env=env)
    assert info.value.exit_code == 2
    return info.value.problems


def test_a_valid_program_loads_with_resolved_settings_and_mappings(program_dir):
    program = load_program(program_dir, settings_models=MODELS, env=ENV)
    assert isinstance(program, Program)
    assert program.config.program == "Test referral program"
    assert set(program.mappings) == {"crm", "clinic"}
    crm = program.settings["crm"]
    assert isinstance(crm, CrmSettings)
    assert crm.access_token.get_secret_value() == "token-from-env"
    assert program.mappings["crm"].entities["referral"].stage.map[Stage.NO_SHOW] == "No Show"
    assert set(program.definitions) == {"cardiology-v1"}
    assert program.role("clinic") == "in" and program.role("crm") == "out"
    assert program.mapping_file("crm") == program_dir / "mappings" / "crm.yaml"


def test_without_settings_models_settings_stay_resolved_dicts(program_dir):
    program = load_program(program_dir, env=ENV)
    assert program.settings["crm"]["access_token"] == "token-from-env"


def test_relative_paths_in_settings_are_relative_to_the_program_directory(program_dir):
    program = load_program(program_dir, settings_models=MODELS, env=ENV)
    assert program.settings["clinic"].path == program_dir / "exports"


def test_a_setting_is_a_program_path_because_its_model_declares_it_not_by_its_name(
    program_dir,
):
    edit(program_dir, "refsync.yaml", "path: exports", "path: exports\n      label_dir: ../x")
    program = load_program(program_dir, settings_models=MODELS, env=ENV)
    assert program.settings["clinic"].path == program_dir / "exports"
    assert program.settings["clinic"].label_dir == "../x"  # neither rooted nor refused


def test_the_state_url_defaults_to_a_sqlite_file_in_the_directory(program_dir):
    program = load_program(program_dir, env=ENV)
    assert program.state_url == f"sqlite:///{(program_dir / 'state.db').resolve()}"


def test_the_state_url_comes_from_the_environment_then_from_refsync_yaml(program_dir):
    env = {**ENV, "REFSYNC_STATE_URL": "postgresql+psycopg://u@db/refsync"}
    assert load_program(program_dir, env=env).state_url == env["REFSYNC_STATE_URL"]
    edit(
        program_dir,
        "refsync.yaml",
        "definitions: definitions",
        "state:\n  url: ${STATE}\ndefinitions: definitions",
    )
    env["STATE"] = "sqlite:////var/lib/refsync.db"
    assert load_program(program_dir, env=env).state_url == "sqlite:////var/lib/refsync.db"


def test_a_mapping_with_a_typo_an_unknown_transform_and_phi_to_a_non_phi_destination_names_all_three(
    program_dir,
):
    path = write(
        program_dir,
        "mappings/crm.yaml",
        """
        system: salesforce
        entities:
          referral:
            object: Referral__c
            key: Refsync_Id__c
            fields:
              - canonical: referral_number
                native: Referral_Number__c
                direcion: both
              - canonical: reason
                native: Reason__c
                transforms: [strip, trim]
              - canonical: patient.mrn
                native: MRN__c
        """,
    )
    found = problems_of(program_dir)
    assert f"{path}:9:9: unknown key 'direcion' (did you mean 'direction'?)" in found
    assert any(p.startswith(f"{path}:12:29: ") and "unknown transform 'trim'" in p for p in found)
    assert any(
        p.startswith(f"{path}:13:9: ") and "referral.patient.mrn is PHI" in p and "'crm'" in p
        for p in found
    )


def test_every_problem_of_every_file_is_reported_at_once_in_file_order(program_dir):
    edit(program_dir, "mappings/crm.yaml", "canonical: partner_id", "canonical: partnr_id")
    edit(program_dir, "mappings/clinic.yaml", "direction: in}", "direction: inn}")
    edit(program_dir, "refsync.yaml", "timezone: America/Chicago", "timezone: Mars/Olympus")
    found = problems_of(program_dir)
    assert len(found) == 3
    assert found == sorted(found)
    assert "partnr_id" in found[1] and "did you mean 'partner_id'" in found[1]
    assert "Mars/Olympus" in found[2]


def test_an_unknown_canonical_field_is_located_at_its_canonical_key(program_dir):
    edit(program_dir, "mappings/crm.yaml", "canonical: reason", "canonical: reasons")
    (problem,) = problems_of(program_dir)
    assert problem.startswith(f"{program_dir / 'mappings/crm.yaml'}:22:10: ")
    assert "unknown canonical field 'reasons'" in problem and "did you mean 'reason'" in problem


def test_a_stage_without_a_target_is_located_at_the_stage(program_dir):
    edit(program_dir, "mappings/crm.yaml", "scheduled: Scheduled", "scheduled:")
    (problem,) = problems_of(program_dir)
    assert problem.startswith(f"{program_dir / 'mappings/crm.yaml'}:13:9: ")
    assert "stage scheduled has no target" in problem


def test_a_destination_missing_stages_is_told_which(program_dir):
    edit(program_dir, "mappings/crm.yaml", "        no_show: No Show\n", "")
    (problem,) = problems_of(program_dir)
    assert "stages without a target in Stage__c: no_show" in problem


def test_a_literal_secret_is_an_error_at_its_line_and_never_echoes_the_value(program_dir):
    edit(
        program_dir, "refsync.yaml", "access_token: ${CRM_TOKEN}", "access_token: abc123secretvalue"
    )
    with pytest.raises(SecretError) as info:
        load_program(program_dir, settings_models=MODELS, env=ENV)
    (problem,) = info.value.problems
    assert problem.startswith(
        f"{program_dir / 'refsync.yaml'}:10:7: access_token holds a literal secret"
    )
    assert "${ACCESS_TOKEN}" in problem
    assert "abc123secretvalue" not in problem


def test_a_private_key_pasted_anywhere_is_an_error(program_dir):
    edit(
        program_dir,
        "refsync.yaml",
        "      instance_url: https://crm.example.org\n",
        '      instance_url: https://crm.example.org\n      note: "-----BEGIN RSA PRIVATE KEY-----MIIE"\n',
    )
    found = problems_of(program_dir, models={})
    assert any(":10:7: this value looks like a private key" in p for p in found)


def test_file_references_are_not_mistaken_for_secrets(program_dir):
    edit(
        program_dir,
        "refsync.yaml",
        "      path: exports\n",
        "      path: exports\n      output_dir: out\n",
    )
    edit(
        program_dir,
        "refsync.yaml",
        "access_token: ${CRM_TOKEN}",
        "access_token: ${CRM_TOKEN}\n      private_key_file: key.pem",
    )
    load_program(program_dir, env=ENV)


def test_a_missing_variable_names_the_variable_and_its_place(program_dir):
    with pytest.raises(SecretError) as info:
        load_program(program_dir, settings_models=MODELS, env={})
    (problem,) = info.value.problems
    assert problem.startswith(f"{program_dir / 'refsync.yaml'}:10:7: ${{CRM_TOKEN}} is not set")
    assert ".env" in problem


def test_variables_come_from_dot_env_when_the_environment_lacks_them(program_dir):
    (program_dir / ".env").write_text("CRM_TOKEN=from-dotenv\n", encoding="utf-8")
    program = load_program(program_dir, settings_models=MODELS, env={})
    assert program.settings["crm"].access_token.get_secret_value() == "from-dotenv"
    program = load_program(program_dir, settings_models=MODELS, env={"CRM_TOKEN": "from-env"})
    assert program.settings["crm"].access_token.get_secret_value() == "from-env"


def test_connection_settings_are_validated_by_the_model_the_caller_supplies(program_dir):
    edit(
        program_dir,
        "refsync.yaml",
        "instance_url: https://crm.example.org",
        "instance_ur: https://crm.example.org",
    )
    found = problems_of(program_dir)
    assert (
        f"{program_dir / 'refsync.yaml'}:9:7: unknown key 'instance_ur' (did you mean 'instance_url'?)"
        in found
    )
    assert any("missing required key 'instance_url'" in p for p in found)


def test_a_connection_type_without_settings_model_is_reported_with_the_reason(program_dir):
    class Registry(dict):
        def __missing__(self, key):
            raise KeyError(f"unknown connection type {key!r}; known: salesforce")

    found = problems_of(program_dir, models=Registry(salesforce=CrmSettings))
    (problem,) = found
    assert problem.startswith(
        f"{program_dir / 'refsync.yaml'}:12:5: connection 'clinic': unknown connection type 'scheduling'"
    )


def test_jobs_must_name_known_connections_mapped_entities_and_valid_cron(program_dir):
    edit(program_dir, "refsync.yaml", "destinations: [crm]", "destinations: [crm, hubspot]")
    edit(program_dir, "refsync.yaml", "entities: [referral]", "entities: [referral, clinician]")
    edit(program_dir, "refsync.yaml", '"*/15 * * * *"', '"every 15 minutes"')
    found = problems_of(program_dir)
    text = "\n".join(found)
    assert "unknown connection 'hubspot'" in text
    assert "syncs clinician but" in text and "clinic.yaml" in text
    assert "'every 15 minutes' is not a valid cron expression" in text
    assert len(found) == 4  # clinician is missing from both mappings


def test_a_source_need_not_map_partner_when_its_job_moves_referrals_but_a_destination_must(
    program_dir,
):
    # The hub computes partner rollups from the referrals a job moves.
    edit(program_dir, "refsync.yaml", "entities: [referral]", "entities: [referral, partner]")
    (problem,) = problems_of(program_dir)
    assert "syncs partner but" in problem and "crm.yaml" in problem


def test_two_owners_of_one_canonical_field_are_an_error(program_dir):
    edit(
        program_dir,
        "mappings/crm.yaml",
        "transforms: [datetime]}",
        "transforms: [datetime], owned: true}",
    )
    (problem,) = problems_of(program_dir)
    assert "referral.appointment_at is already owned by connection" in problem


def test_a_missing_mapping_file_is_reported_at_the_connection(program_dir):
    (program_dir / "mappings" / "clinic.yaml").unlink()
    (problem,) = problems_of(program_dir)
    assert problem.startswith(
        f"{program_dir / 'refsync.yaml'}:13:5: connection 'clinic': mapping file"
    )


def test_invalid_yaml_is_reported_with_its_position(program_dir):
    write(program_dir, "mappings/crm.yaml", "system: x\nentities: {referral: [\n")
    (problem,) = problems_of(program_dir)
    assert problem.startswith(f"{program_dir / 'mappings/crm.yaml'}:3:1: invalid YAML")


def test_definitions_are_checked_for_shape_rule_types_and_unique_ids(program_dir):
    write(
        program_dir,
        "definitions/ortho.yaml",
        """
        id: cardiology-v1
        service_line: orthopedics
        version: "1"
        """,
    )
    write(
        program_dir,
        "definitions/pulm.yaml",
        """
        id: pulm-v1
        service_line: pulmonology
        version: "1"
        rules:
          - {type: required_feild, field: reason}
        targets: {respond_within_hours: -1}
        """,
    )
    found = problems_of(program_dir)
    text = "\n".join(found)
    assert (
        f"{program_dir / 'definitions/ortho.yaml'}:1:1: definition id 'cardiology-v1' is used twice"
        in text
    )
    assert f"{program_dir / 'definitions/pulm.yaml'}:6:11: targets.respond_within_hours" in text


def test_an_unknown_rule_type_is_reported_at_its_rule(program_dir):
    edit(
        program_dir,
        "definitions/cardiology-v1.yaml",
        "type: required_field",
        "type: required_feild",
    )
    (problem,) = problems_of(program_dir)
    assert problem.startswith(f"{program_dir / 'definitions/cardiology-v1.yaml'}:6:5: rules[0]")
    assert "did you mean 'required_field'" in problem


def test_a_missing_refsync_yaml_is_one_problem(tmp_path):
    (problem,) = problems_of(tmp_path)
    assert problem == f"{tmp_path / 'refsync.yaml'}:1:1: file not found"


def test_an_empty_mapping_file_is_a_problem(program_dir):
    write(program_dir, "mappings/clinic.yaml", "# nothing yet\n")
    (problem,) = problems_of(program_dir)
    assert problem == f"{program_dir / 'mappings/clinic.yaml'}:1:1: file is empty"


def test_a_model_level_settings_error_names_the_connection(program_dir):
    class NeedsBoth(BaseModel):
        instance_url: str
        access_token: str

        def model_post_init(self, context):
            raise ValueError("token and url do not belong together")

    found = problems_of(program_dir, models={**MODELS, "salesforce": NeedsBoth})
    assert any(
        p.startswith(f"{program_dir / 'refsync.yaml'}:8:5: connections.crm.settings: ")
        for p in found
    ), found


def test_a_duplicate_key_is_located_and_its_values_are_not_echoed(program_dir):
    edit(
        program_dir,
        "refsync.yaml",
        "      access_token: ${CRM_TOKEN}\n",
        "      access_token: ${CRM_TOKEN}\n      access_token: ${OTHER_SECRET_NAME}\n",
    )
    (problem,) = problems_of(program_dir)
    assert problem.startswith(f"{program_dir / 'refsync.yaml'}:11:7: duplicate key 'access_token'")
    assert "CRM_TOKEN" not in problem and "OTHER_SECRET_NAME" not in problem
