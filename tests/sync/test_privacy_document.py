"""`refsync privacy --json` as the report of record: a versioned document with a published
schema, each destination's tier and the agreement behind it, and the program report's
tables among the outputs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from sync.cli import app
from sync.insights import ProgramData, build_tables
from sync.privacy_outputs import report_class

runner = CliRunner()
SCHEMA = Path(__file__).parents[2] / "docs" / "privacy-report.schema.json"


def _edit(program: Path, edit) -> None:
    yaml = YAML()
    path = program / "refsync.yaml"
    data = yaml.load(path.read_text())
    edit(data["connections"])
    with path.open("w") as fh:
        yaml.dump(data, fh)


def _document(program: Path) -> tuple[int, dict]:
    result = runner.invoke(app, ["privacy", "--config", str(program), "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_the_json_document_is_versioned_and_valid_against_its_published_schema(program):
    published = json.loads(SCHEMA.read_text())
    printed = runner.invoke(app, ["privacy", "--json-schema"])
    assert printed.exit_code == 0 and json.loads(printed.stdout) == published
    code, document = _document(program)
    assert code == 0 and document["schema_version"] == 1
    jsonschema.validate(document, published)
    broken = {**document, "destinations": [{**document["destinations"][0], "tier": "secret"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, published)


def test_each_destination_names_its_tier_and_the_agreement_behind_it(program):
    def edit(conns):
        conns["salesforce"].update(privacy="full", baa="BAA-2026-01 Salesforce Health Cloud")
        conns["hubspot"].update(privacy="limited", data_use_agreement="DUA-2026-07")

    _edit(program, edit)
    code, document = _document(program)
    assert code == 0
    found = {(d["name"], d["kind"]): d for d in document["destinations"]}
    salesforce, hubspot = found[("salesforce", "connection")], found[("hubspot", "connection")]
    assert (salesforce["tier"], salesforce["agreement_kind"]) == ("full", "baa")
    assert salesforce["agreement"] == "BAA-2026-01 Salesforce Health Cloud"
    assert (hubspot["tier"], hubspot["agreement_kind"]) == ("limited", "data_use_agreement")
    assert hubspot["agreement"] == "DUA-2026-07" and hubspot["sensitive_data"] is None
    epic = found[("epic", "output")]
    assert (epic["tier"], epic["agreement_kind"]) == ("full", "covered_entity")
    counted = [f for f in document["fields"] if f["destination"] == "salesforce"]
    assert salesforce["fields"] == len(counted) and salesforce["refused"] == 0


def test_the_table_prints_each_destination_with_its_agreement(program):
    _edit(program, lambda c: c["salesforce"].update(privacy="full", baa="BAA-2026-01"))
    result = runner.invoke(app, ["privacy", "--config", str(program)])
    assert result.exit_code == 0, result.output
    assert "salesforce (connection, salesforce): full, baa BAA-2026-01;" in result.output
    assert "refsync report (output, refsync): deidentified;" in result.output


def test_every_column_of_the_program_report_is_listed_classed_and_allowed(program):
    _, tables = build_tables(
        ProgramData([], [], [], [], [], []), now=datetime(2026, 1, 1, tzinfo=UTC), days=30
    )
    expected = {(f"report.html / {n}.csv", c) for n, t in tables.items() for c in t.columns}
    _, document = _document(program)
    report = [f for f in document["fields"] if f["destination"] == "refsync report"]
    assert {(f["target"], f["field"]) for f in report} == expected
    assert all(f["allowed"] and f["tier"] == "deidentified" for f in report)
    assert {f["data_class"] for f in report} == {"operational", "coarsened"}
    runs = {f["target"] for f in document["fields"] if f["destination"] == "refsync runs"}
    assert runs == {"run report", "error table", "log lines"}


def test_a_report_column_nobody_classed_counts_as_an_identifier():
    assert report_class("patient_name").data_class == "direct_identifier"
    assert report_class("median_days_to_schedule").data_class == "operational"
    assert report_class("month").data_class == "coarsened"


def test_a_full_hubspot_lists_its_sensitive_data_level(program):
    def edit(conns):
        conns["hubspot"].update(privacy="full", baa="HubSpot Sensitive Data Terms, Annex I")
        conns["hubspot"]["settings"]["sensitive_data"] = "sensitive"

    _edit(program, edit)
    code, document = _document(program)
    assert code == 0
    [hubspot] = [d for d in document["destinations"] if d["name"] == "hubspot"]
    assert (hubspot["sensitive_data"], hubspot["agreement_kind"]) == ("sensitive", "baa")


def test_a_full_hubspot_without_sensitive_data_is_a_problem_of_the_report_too(program):
    _edit(program, lambda c: c["hubspot"].update(privacy="full", baa="BAA-3"))
    code, document = _document(program)
    assert code == 2
    [problem] = document["problems"]
    assert problem.startswith(f"{program / 'refsync.yaml'}:") and "sensitive_data" in problem
