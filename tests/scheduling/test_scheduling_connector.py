"""The connector contract pieces: registry, settings, check, describe, fields, mappings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML
from scheduling_support import FIXTURES, KEY_ENV, make_connector, read_all

from connectors.base import Capability, Connector
from connectors.registry import connector_class
from connectors.scheduling import SchedulingConnector, SchedulingSettings
from mapping.errors import ConfigurationError, SchemaMismatch, SecretError
from mapping.spec import MappingSpec
from mapping.spec_check import check_mapping
from mapping.transforms import TransformContext
from mapping.translate import native_fields, to_canonical

TEMPLATES = Path(__file__).parents[2] / "config" / "templates" / "mappings"


def test_registry_type_scheduling_is_this_connector():
    cls = connector_class("scheduling")
    assert cls is SchedulingConnector and issubclass(cls, Connector)
    assert cls.name == "scheduling" and cls.settings_model is SchedulingSettings
    assert cls.capabilities == {
        Capability.READ,
        Capability.PEOPLE_FILES,
        Capability.REFERRAL_MATCHING,
    }  # read-only: it cannot be a job's destination


def test_custom_preset_requires_a_column_map_and_a_status_map():
    with pytest.raises(ValidationError, match="columns and status_map"):
        SchedulingSettings(path="x", preset="custom")


def test_a_status_mapped_to_a_stage_without_an_event_clock_is_refused_by_the_settings():
    with pytest.raises(ValidationError) as caught:
        SchedulingSettings(
            path=Path("x.csv"), status_map={"Pending": "referred", "Booked": "scheduled"}
        )
    message = caught.value.errors()[0]["msg"]
    assert "'Pending' -> referred" in message and "Booked" not in message
    assert "event_time_columns" in message and "no_show" in message  # the two ways out


def test_a_stage_given_its_own_event_clock_takes_mapped_statuses_and_its_rows_are_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "PAT_ENC_CSN_ID,PAT_MRN_ID,APPT_DTTM,APPT_STATUS_C,REFERRAL_ID,APPT_MADE_DTTM\n"
        "1,1,2024-03-05 09:00,Pending,R-1,2024-03-01 08:00\n"
        "2,2,2024-03-06 09:00,2,R-2,2024-03-01 08:00\n",
        encoding="utf-8",
    )
    result = read_all(
        path,
        preset="epic_cadence",
        status_map={"Pending": "referred"},
        event_time_columns={"referred": ["made_at"]},
    )
    assert result.rejects == []
    assert result.stages() == {"1": "referred", "2": "completed"}


def test_unknown_time_zone_is_a_settings_error():
    with pytest.raises(ValidationError, match="IANA"):
        SchedulingSettings(path="x", timezone="Central")


def test_the_program_time_zone_applies_when_the_connection_sets_none():
    settings = SchedulingSettings.model_validate(
        {"path": "x"}, context={"timezone": "America/Denver"}
    )
    assert settings.timezone == "America/Denver"
    own = SchedulingSettings.model_validate(
        {"path": "x", "timezone": "UTC"}, context={"timezone": "America/Denver"}
    )
    assert own.timezone == "UTC"


def test_reading_local_times_without_a_zone_is_a_configuration_error():
    connector = SchedulingConnector(
        SchedulingSettings(path=FIXTURES / "epic_cadence_report.csv"), environ=KEY_ENV
    )
    with pytest.raises(ConfigurationError, match="timezone"):
        list(connector.read("stage_event", since=None, fields=()))


def test_a_missing_patient_key_stops_the_read_naming_the_variable():
    connector = make_connector(
        FIXTURES / "epic_cadence_report.csv", preset="epic_cadence",
        patient_key_env="SITE_KEY", environ={},
    )  # fmt: skip
    with pytest.raises(SecretError, match="SITE_KEY"):
        list(connector.read("stage_event", since=None, fields=()))
    with pytest.raises(SecretError, match="SITE_KEY"):
        connector.check()


def test_check_passes_with_a_readable_path_and_a_key():
    make_connector(FIXTURES / "epic_cadence_report.csv", preset="epic_cadence").check()


def test_a_missing_export_path_is_a_configuration_error(tmp_path):
    connector = make_connector(tmp_path / "nowhere", preset="epic_cadence")
    with pytest.raises(ConfigurationError, match=r"settings\.path"):
        connector.check()


def test_describe_lists_the_normalised_fields_with_the_key_and_stage_picklist():
    schema = make_connector(FIXTURES, preset="generic").describe("stage_event")
    assert {"refsync_id", "referral_number", "stage", "event_at", "patient_key"} <= set(
        schema.fields
    )
    assert "no_show" in schema.field("stage").picklist_values


def test_unknown_object_and_unknown_field_raise_schema_mismatch():
    connector = make_connector(FIXTURES / "epic_cadence_report.csv", preset="epic_cadence")
    with pytest.raises(SchemaMismatch, match="stage_event"):
        list(connector.read("appointments", since=None, fields=()))
    with pytest.raises(SchemaMismatch, match="'nope'"):
        list(connector.read("stage_event", since=None, fields=("referral_number", "nope")))
    with pytest.raises(SchemaMismatch, match="phi_passthrough"):
        list(connector.read("stage_event", since=None, fields=("mrn",)))


def test_csv_connections_have_no_provider_records():
    result = read_all(FIXTURES / "epic_cadence_report.csv", "practitioner", preset="epic_cadence")
    assert [r for p in result.pages for r in p.records] == []


def test_a_directory_reads_every_export_in_name_order(tmp_path):
    for name in ("b.csv", "a.csv"):
        (tmp_path / name).write_bytes((FIXTURES / "epic_cadence_report.csv").read_bytes())
    result = read_all(tmp_path, preset="epic_cadence")
    assert [r.fields["source_file"] for r in result.records] == ["a.csv"] * 6 + ["b.csv"] * 6


@pytest.mark.parametrize("name", ["epic.yaml", "fhir.yaml"])
def test_shipped_mapping_templates_validate_for_a_non_phi_destination(name):
    spec = MappingSpec.model_validate(YAML(typ="safe").load(TEMPLATES / name))
    assert check_mapping(spec, connection=name[:-5], phi_allowed=False, writes=False) == []
    connector = make_connector(FIXTURES, preset="generic")
    for em in spec.entities.values():  # every mapped native field exists on its object
        assert set(native_fields(em, "in")) <= set(connector.describe(em.object).fields)


def test_epic_template_translates_a_real_row_into_canonical_values():
    spec = MappingSpec.model_validate(YAML(typ="safe").load(TEMPLATES / "epic.yaml"))
    em = spec.entities["referral"]
    row = read_all(FIXTURES / "epic_cadence_report.csv", preset="epic_cadence",
                   service_line_by_department={"CARDIOLOGY CLINIC": "Cardiology"}).records[0]  # fmt: skip
    inbound = to_canonical(em, dict(row.fields), TransformContext(timezone="America/Chicago"))
    assert inbound.errors == []
    assert inbound.stage.value == "completed"
    assert inbound.values["referral_number"] == "R-1001"
    assert inbound.values["service_line"] == "cardiology"
    assert inbound.values["appointment_at"].isoformat() == "2024-03-05T15:30:00+00:00"
