"""`refsync init` output and the JSON Schemas editors use."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import jsonschema
import pytest
from pydantic import BaseModel, ConfigDict
from ruamel.yaml import YAML

from config import SCHEMA_FILES, json_schema, load_program, write_program
from mapping.errors import ConfigurationError

TEMPLATES = Path(__file__).parents[2] / "config" / "templates"
FIXTURE_MAPPINGS = Path(__file__).parent / "fixtures" / "mappings"


def fill_missing_mappings(root: Path) -> None:
    """Stand in for mapping templates the connector areas have not shipped yet."""
    for fixture in FIXTURE_MAPPINGS.glob("*.yaml"):
        target = root / "mappings" / fixture.name
        if not target.exists():
            shutil.copy(fixture, target)


def load_yaml(path: Path):
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def test_init_writes_config_definitions_every_mapping_template_and_a_private_env(tmp_path):
    root = tmp_path / "prog"
    written = write_program(root)
    names = {p.relative_to(root).as_posix() for p in written}
    assert {"refsync.yaml", ".env", ".gitignore"} <= names
    assert {"definitions/cardiology-v1.yaml", "definitions/orthopedics-v1.yaml"} <= names
    shipped = {f"mappings/{p.name}" for p in (TEMPLATES / "mappings").glob("*.yaml")}
    assert shipped <= names
    assert stat.S_IMODE((root / ".env").stat().st_mode) == 0o600
    assert ".env" in (root / ".gitignore").read_text()
    assert (root / "exports" / "epic").is_dir()


def test_the_env_file_lists_every_variable_refsync_yaml_references(tmp_path):
    root = tmp_path / "prog"
    write_program(root)
    env = (root / ".env").read_text()
    for name in ("SF_CLIENT_ID", "SF_PRIVATE_KEY_FILE", "HUBSPOT_ACCESS_TOKEN"):
        assert f"\n{name}=" in env
    assert "REFSYNC_STATE_URL" not in env  # only mentioned in a comment


def test_init_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigurationError, match="not empty"):
        write_program(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_init_accepts_an_existing_empty_directory(tmp_path):
    write_program(tmp_path)
    assert (tmp_path / "refsync.yaml").is_file()


def test_the_initialised_program_validates_with_the_real_connector_settings(tmp_path):
    from connectors.registry import connector_class

    root = tmp_path / "prog"
    write_program(root)
    fill_missing_mappings(root)
    models = {t: connector_class(t).settings_model for t in ("salesforce", "hubspot", "scheduling")}
    program = load_program(root, settings_models=models, env={})
    assert set(program.config.connections) == {"salesforce", "hubspot", "epic"}
    assert {"cardiology-v1", "orthopedics-v1"} <= set(program.definitions)
    assert type(program.settings["hubspot"]).__name__ == "HubSpotSettings"
    assert program.settings["epic"].path == root / "exports" / "epic"


def test_templates_are_commented_for_admins():
    text = (TEMPLATES / "refsync.yaml").read_text()
    assert text.count("#") > 20
    for definition in (TEMPLATES / "definitions").glob("*.yaml"):
        assert definition.read_text().lstrip().startswith("#")


def test_json_schemas_cover_the_three_file_kinds():
    schemas = json_schema()
    assert set(schemas) == set(SCHEMA_FILES)
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_the_shipped_files_satisfy_their_json_schemas(tmp_path):
    root = tmp_path / "prog"
    write_program(root)
    schemas = json_schema()
    jsonschema.validate(load_yaml(root / "refsync.yaml"), schemas["refsync.schema.json"])
    for path in (root / "mappings").glob("*.yaml"):
        jsonschema.validate(load_yaml(path), schemas["mapping.schema.json"])
    for path in (root / "definitions").glob("*.yaml"):
        jsonschema.validate(load_yaml(path), schemas["definition.schema.json"])


def test_the_mapping_schema_rejects_typos_and_unknown_transforms_as_editors_show_them():
    schema = json_schema()["mapping.schema.json"]
    base = {"system": "x", "entities": {"partner": {"object": "A", "key": "K", "fields": []}}}
    jsonschema.validate(base, schema)
    bad_key = {"canonical": "name", "native": "Name", "direcion": "in"}
    bad_step = {"canonical": "name", "native": "Name", "transforms": ["trim"]}
    for field in (bad_key, bad_step):
        base["entities"]["partner"]["fields"] = [field]
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(base, schema)
    base["entities"]["partner"]["fields"] = [
        {"canonical": "name", "native": "Name", "transforms": ["strip", {"truncate": 255}]}
    ]
    jsonschema.validate(base, schema)


def test_settings_schemas_are_attached_per_connection_type():
    class CrmSettings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        instance_url: str

    schema = json_schema(settings_models={"crm": CrmSettings})["refsync.schema.json"]
    doc = {
        "program": "p",
        "connections": {"c": {"type": "crm", "settings": {"instance_url": "https://x"}}},
    }
    jsonschema.validate(doc, schema)
    doc["connections"]["c"]["settings"] = {"instance_ur": "https://x"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)
