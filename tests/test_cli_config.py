"""`refsync init`, `refsync validate` and `refsync schema` from the command line."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app

FIXTURE_MAPPINGS = Path(__file__).parent / "config" / "fixtures" / "mappings"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def _no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment wins over .env: variables another test (the demo) left must not."""
    for name in list(os.environ):
        if name.startswith(("REFSYNC_", "SF_", "HUBSPOT_")):
            monkeypatch.delenv(name)


@pytest.fixture
def program(tmp_path: Path) -> Path:
    root = tmp_path / "prog"
    result = invoke("init", str(root))
    assert result.exit_code == 0, result.output
    for fixture in FIXTURE_MAPPINGS.glob("*.yaml"):  # templates not shipped yet
        if not (root / "mappings" / fixture.name).exists():
            shutil.copy(fixture, root / "mappings" / fixture.name)
    return root


def _set_env(program: Path, **values: str) -> None:
    """Replace (or add) lines of the program's .env, keeping the others (the patient key)."""
    env = program / ".env"
    kept = [x for x in env.read_text().splitlines() if x.split("=", 1)[0] not in values]
    env.write_text("\n".join([*kept, *(f"{k}={v}" for k, v in values.items())]) + "\n")


def test_init_then_validate_names_the_placeholder_key_file_and_the_empty_export_folder(program):
    result = invoke("validate", "--config", str(program))
    assert result.exit_code == 2, result.output
    assert "private_key_file" in result.output and "does not exist" in result.output
    assert "warning: connection 'epic': the export folder" in result.output
    assert "read 0 records" in result.output
    assert "1 problem in" in result.output


def test_a_program_with_its_key_file_validates_offline_and_warns_of_the_empty_export(program):
    key = program / "sf.key"
    key.write_text("not checked offline\n")
    _set_env(program, SF_PRIVATE_KEY_FILE=str(key))
    result = invoke("validate", "--config", str(program))
    assert result.exit_code == 0, result.output
    assert "valid (offline" in result.output
    assert "3 connections" in result.output and "2 definitions" in result.output
    assert "warning: connection 'epic'" in result.output


def test_init_writes_a_patient_key_into_env_and_validate_reports_it_when_removed(
    program, monkeypatch
):
    monkeypatch.delenv("REFSYNC_PATIENT_KEY", raising=False)  # the environment wins over .env
    keys = [x for x in (program / ".env").read_text().splitlines() if x.startswith("REFSYNC_P")]
    assert len(keys) == 1 and len(keys[0].split("=", 1)[1]) == 64
    (program / "sf.key").write_text("x\n")
    _set_env(program, SF_PRIVATE_KEY_FILE=str(program / "sf.key"), REFSYNC_PATIENT_KEY="")
    result = invoke("validate", "--config", str(program))
    assert result.exit_code == 2
    assert "REFSYNC_PATIENT_KEY: it is not set" in result.output
    assert f"fix: add REFSYNC_PATIENT_KEY=<secret> to {program / '.env'}" in result.output


def test_a_missing_export_folder_is_a_problem_naming_the_folder_to_create(program):
    (program / "sf.key").write_text("x\n")
    _set_env(program, SF_PRIVATE_KEY_FILE=str(program / "sf.key"))
    (program / "exports" / "epic").rmdir()
    result = invoke("validate", "--config", str(program))
    assert result.exit_code == 2
    assert f"the export folder {program / 'exports' / 'epic'} does not exist" in result.output
    assert f"fix: mkdir -p {program / 'exports' / 'epic'}" in result.output


def test_init_reports_what_it_wrote_and_what_to_do_next(tmp_path):
    result = invoke("init", str(tmp_path / "p"))
    assert result.exit_code == 0
    assert f"wrote {tmp_path / 'p' / 'refsync.yaml'}" in result.output
    assert "refsync validate --config" in result.output


def test_init_into_a_non_empty_directory_exits_2(program):
    result = invoke("init", str(program))
    assert result.exit_code == 2
    assert "not empty" in result.output


def test_a_broken_mapping_exits_2_and_names_every_problem_with_file_and_line(program):
    path = program / "mappings" / "salesforce.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            system: salesforce
            entities:
              referral:
                object: Referral__c
                key: Refsync_Id__c
                fields:
                  - {canonical: referral_number, native: Referral_Number__c, direcion: both}
                  - {canonical: reason, native: Reason__c, transforms: [strip, trunc]}
                  - {canonical: patient.birth_date, native: Birth_Date__c, transforms: [date]}
            """
        )
    )
    result = invoke("validate", "--config", str(program))
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert f"{path}:7:66: unknown key 'direcion' (did you mean 'direction'?)" in lines
    assert any(
        line.startswith(f"{path}:8:68: ") and "unknown transform 'trunc'" in line for line in lines
    )
    assert any(
        line.startswith(f"{path}:9:10: ") and "referral.patient.birth_date is PHI" in line
        for line in lines
    )
    assert "configuration problems in" in result.output


def test_a_literal_secret_and_a_missing_variable_exit_2(program, monkeypatch):
    config = program / "refsync.yaml"
    text = config.read_text().replace("${HUBSPOT_ACCESS_TOKEN}", "pat-na1-0123456789abcdef0123")
    config.write_text(text)
    env = (program / ".env").read_text().replace("SF_CLIENT_ID=", "SF_CLIENT_ID_UNUSED=")
    (program / ".env").write_text(env)
    monkeypatch.delenv("SF_CLIENT_ID", raising=False)
    result = invoke("validate", "-c", str(program))
    assert result.exit_code == 2
    assert "access_token holds a literal secret" in result.output
    assert "${SF_CLIENT_ID} is not set" in result.output
    assert "pat-na1-0123456789abcdef0123" not in result.output


def test_an_unknown_connection_type_is_reported_at_its_type(program):
    config = program / "refsync.yaml"
    config.write_text(config.read_text().replace("type: hubspot", "type: hubspt"))
    result = invoke("validate", "-c", str(program))
    assert result.exit_code == 2
    assert "unknown connection type 'hubspt'" in result.output


def test_schema_writes_the_three_schema_files(tmp_path):
    result = invoke("schema", "--out", str(tmp_path / "schemas"))
    assert result.exit_code == 0
    names = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert names == ["definition.schema.json", "mapping.schema.json", "refsync.schema.json"]
    program_schema = json.loads((tmp_path / "schemas" / "refsync.schema.json").read_text())
    assert "SalesforceSettings" in program_schema["$defs"]


def test_schema_without_out_prints_json(tmp_path):
    result = invoke("schema")
    assert result.exit_code == 0
    assert set(json.loads(result.stdout)) == {
        "refsync.schema.json",
        "mapping.schema.json",
        "definition.schema.json",
    }


# -- validate --online against the local sandboxes ---------------------------------------


@pytest.fixture(scope="module")
def sandboxes():
    from connectors.sandbox.hubspot import HubSpotSandbox
    from connectors.sandbox.salesforce import SalesforceSandbox

    with SalesforceSandbox() as sf, HubSpotSandbox() as hs:
        yield sf, hs


@pytest.fixture
def online_program(program: Path, sandboxes) -> Path:
    """The initialised program with .env pointing at the sandboxes (and trusting their CA)."""
    sf, hs = sandboxes
    hs.reset()  # not provisioned
    _set_env(
        program,
        SF_LOGIN_URL=sf.instance_url, SF_CLIENT_ID=sf.client_id, SF_USERNAME=sf.username,
        SF_PRIVATE_KEY_FILE=sf.private_key_file, SF_CA_FILE=sf.ca_file,
        HUBSPOT_ACCESS_TOKEN=hs.token, HUBSPOT_HOST=hs.base_url, HUBSPOT_INSECURE_HTTP="true",
    )  # fmt: skip
    config = program / "refsync.yaml"
    text = config.read_text()
    # Short request timeouts: a sandbox keep-alive race (werkzeug drains the socket after a
    # response and may swallow the next request) then costs a retry, not a hang.
    for anchor in ("      auth: jwt", "      auth: private_app"):
        text = text.replace(anchor, f"{anchor}\n      timeout_seconds: 5", 1)
    # The HubSpot sandbox is plain http (HUBSPOT_INSECURE_HTTP above); the sandbox's key and
    # CA live in its own temp dir.
    text = f"allow_paths_outside: true\n{text}"
    config.write_text(text)
    return program


def test_the_initialised_program_matches_the_live_sandbox_schemas_once_provisioned(
    online_program,
):
    provisioned = invoke("provision", "hubspot", "--config", str(online_program), "--apply")
    assert provisioned.exit_code == 0, provisioned.output
    result = invoke("validate", "-c", str(online_program), "--online")
    assert result.exit_code == 0, result.output
    assert "valid (against the live systems)" in result.output


def test_online_validation_of_an_unprovisioned_hubspot_names_the_provision_command(
    online_program,
):
    result = invoke("validate", "-c", str(online_program), "--online")
    assert result.exit_code == 2
    assert "create pipeline Referrals" in result.output
    assert f"fix: refsync provision hubspot --config {online_program} --apply" in result.output
    assert "connection 'salesforce'" not in result.output  # the Salesforce side is complete


def test_online_validation_names_a_field_missing_from_the_live_schema_at_its_line(online_program):
    path = online_program / "mappings" / "salesforce.yaml"
    text = path.read_text()
    assert "native: Patient_Ref__c," in text
    path.write_text(text.replace("native: Patient_Ref__c,", "native: Reason_Text__c,"))
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "Reason_Text__c" in t)
    result = invoke("validate", "-c", str(online_program), "--online")
    assert result.exit_code == 2
    (problem,) = [p for p in result.output.splitlines() if "Reason_Text__c" in p]
    assert problem.startswith(f"{path}:{line}:")
    assert "connection 'salesforce', referral: Referral__c.Reason_Text__c does not exist" in problem


def test_online_validation_reports_a_rejected_credential_with_the_connection(online_program):
    env = online_program / ".env"
    lines = [x for x in env.read_text().splitlines() if not x.startswith("HUBSPOT_ACCESS_TOKEN=")]
    env.write_text("\n".join([*lines, "HUBSPOT_ACCESS_TOKEN=pat-na1-not-a-real-token"]) + "\n")
    result = invoke("validate", "-c", str(online_program), "--online")
    assert result.exit_code == 2
    assert "connection 'hubspot'" in result.output
    assert "pat-na1-not-a-real-token" not in result.output


def test_online_validation_of_a_missing_salesforce_object_names_the_provision_command(
    online_program,
):
    assert invoke("provision", "hubspot", "-c", str(online_program), "--apply").exit_code == 0
    path = online_program / "mappings" / "salesforce.yaml"
    text = path.read_text()
    assert "object: Referral__c" in text
    path.write_text(text.replace("object: Referral__c", "object: Patient_Referral__c", 1))
    result = invoke("validate", "-c", str(online_program), "--online")
    assert result.exit_code == 2
    assert "Patient_Referral__c" in result.output
    assert "fix: refsync provision salesforce --out sfdx, then sf project deploy" in result.output


def test_online_validation_reports_an_unreachable_state_database_with_its_fix(
    online_program, monkeypatch
):
    assert invoke("provision", "hubspot", "-c", str(online_program), "--apply").exit_code == 0
    unreachable = "postgresql+psycopg://refsync:pw@127.0.0.1:1/state?connect_timeout=2"
    monkeypatch.setenv("REFSYNC_STATE_URL", unreachable)
    result = invoke("validate", "-c", str(online_program), "--online")
    assert result.exit_code == 2
    assert "state store:" in result.output and "fix: start the database" in result.output
    assert ":pw@" not in result.output
