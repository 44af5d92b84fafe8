"""`refsync init`, `refsync validate` and `refsync schema` from the command line."""

from __future__ import annotations

import json
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


@pytest.fixture
def program(tmp_path: Path) -> Path:
    root = tmp_path / "prog"
    result = invoke("init", str(root))
    assert result.exit_code == 0, result.output
    for fixture in FIXTURE_MAPPINGS.glob("*.yaml"):  # templates not shipped yet
        if not (root / "mappings" / fixture.name).exists():
            shutil.copy(fixture, root / "mappings" / fixture.name)
    return root


def test_init_then_validate_exits_zero_with_a_summary(program):
    result = invoke("validate", "--config", str(program))
    assert result.exit_code == 0, result.output
    assert "valid (offline" in result.output
    assert "3 connections" in result.output and "2 definitions" in result.output


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
