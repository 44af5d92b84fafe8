"""Capabilities are declared on the extension point; the engine finds them through the
declaration (``supports``, settings roles), never by probing a connector."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, ClassVar

import pytest
from pydantic import BaseModel

from connectors import registry
from connectors.base import (
    Bookmark,
    Capability,
    CapabilityMissing,
    Connector,
    ObjectSchema,
    PhiFields,
    ProvisionAction,
    ReadPage,
    SettingRole,
    missing_hooks,
    settings_with_role,
)
from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from connectors.scheduling import SchedulingConnector
from mapping.errors import ConfigurationError


class _Settings(BaseModel):
    folder: Annotated[Path, SettingRole.PROGRAM_PATH]
    key_file: Annotated[str | None, SettingRole.PROGRAM_FILE] = None
    lists: Annotated[Path | None, SettingRole.OUTPUT_DIR] = None
    zone: Annotated[str | None, SettingRole.TIMEZONE] = None
    path: str = "not declared, so never rooted"


class _ReadOnly(Connector):
    name = "read-only-double"
    settings_model = _Settings
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.READ})

    def check(self) -> None:
        return None

    def describe(self, object_name: str) -> ObjectSchema:
        return ObjectSchema(object_name)

    def read(
        self,
        object_name: str,
        *,
        since: Bookmark | None,
        fields: Sequence[str],
        until: datetime | None = None,
    ) -> Iterator[ReadPage]:
        yield ReadPage([], {})


class _ClaimsToWrite(_ReadOnly):
    name = "claims-to-write"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.READ, Capability.WRITE, Capability.PEOPLE_FILES}
    )


def test_settings_roles_are_read_from_the_settings_model_not_guessed_from_names() -> None:
    assert settings_with_role(_Settings, SettingRole.PROGRAM_PATH) == (
        "folder",
        "key_file",
        "lists",
    )
    assert settings_with_role(_Settings, SettingRole.PROGRAM_FILE) == ("key_file",)
    assert settings_with_role(_Settings, SettingRole.OUTPUT_DIR) == ("lists",)
    assert settings_with_role(_Settings, SettingRole.TIMEZONE) == ("zone",)


def test_a_capability_declared_without_its_hook_is_named_by_missing_hooks() -> None:
    assert missing_hooks(_ReadOnly) == []
    assert missing_hooks(_ClaimsToWrite) == [
        "write: upsert",
        "people_files: people_files",
        "people_files: write_people_files",
    ]


def test_the_registry_refuses_a_plugin_declaring_a_capability_without_its_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(registry._BUILTIN, "claims-to-write", f"{__name__}:_ClaimsToWrite")
    with pytest.raises(ConfigurationError, match="write: upsert") as info:
        registry.connector_class("claims-to-write")
    assert "claims-to-write" in str(info.value)


def test_asking_a_read_only_connector_to_write_is_a_configuration_error() -> None:
    connector = _ReadOnly(_Settings(folder=Path("x")))
    assert not connector.supports(Capability.WRITE)
    with pytest.raises(CapabilityMissing, match="does not support write"):
        connector.upsert("things", [{"k": "1"}], key="k")


@pytest.mark.parametrize(
    ("cls", "declared"),
    [
        (SalesforceConnector, {"read", "write", "archive", "backfill_keys", "provision_source"}),
        (HubSpotConnector, {"read", "write", "archive", "backfill_keys", "provision"}),
        (SchedulingConnector, {"read", "people_files", "referral_matching"}),
    ],
)
def test_every_built_in_connector_declares_what_it_does_and_implements_each_hook(
    cls: type[Connector], declared: set[str]
) -> None:
    assert {c.value for c in cls.capabilities} == declared
    assert missing_hooks(cls) == []
    assert registry.connector_class(cls.name) is cls


def test_the_engine_roots_only_declared_path_settings_at_the_program_directory(
    tmp_path: Path,
) -> None:
    from sync.engine.runtime import _rooted

    settings = _Settings(folder=Path("exports"), key_file="keys/sf.pem", lists=Path("out"))
    rooted = _rooted(settings, tmp_path)
    base = tmp_path.resolve()
    assert rooted.folder == base / "exports"
    assert rooted.key_file == str(base / "keys" / "sf.pem")
    assert rooted.lists == base / "out"
    assert rooted.path == "not declared, so never rooted"


def test_a_connector_reports_its_own_local_problems_and_only_as_a_source(tmp_path: Path) -> None:
    from connectors.scheduling import SchedulingSettings

    settings = SchedulingSettings(path=tmp_path / "missing", timezone="America/Chicago")
    environ = {"REFSYNC_PATIENT_KEY": "k" * 40}
    found = SchedulingConnector.local_problems(
        settings, environ, reading=True, program_dir=tmp_path
    )
    assert [(p.at, p.empties_reads, p.warning) for p in found] == [
        (("settings", "path"), True, False)
    ]
    assert "does not exist" in found[0].message
    unset = SchedulingConnector.local_problems(settings, {}, reading=True, program_dir=tmp_path)
    assert any(str(tmp_path / ".env") in p.fix for p in unset)
    assert (
        SchedulingConnector.local_problems(settings, {}, reading=False, program_dir=tmp_path) == []
    )
    assert (
        _ReadOnly.local_problems(_Settings(folder=tmp_path), {}, reading=True, program_dir=tmp_path)
        == []
    )


class _ClaimsToProvision(_ReadOnly):
    name = "claims-to-provision"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.READ, Capability.PROVISION, Capability.PROVISION_SOURCE}
    )

    def provision_plan(self, phi_fields: PhiFields) -> list[ProvisionAction]:
        return []


def test_the_registry_refuses_a_plugin_declaring_provisioning_without_every_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert missing_hooks(_ClaimsToProvision) == [
        "provision: apply_provision",
        "provision_source: write_provision_source",
        "provision_source: deploy_command",
    ]
    monkeypatch.setitem(registry._BUILTIN, "claims-to-provision", f"{__name__}:_ClaimsToProvision")
    with pytest.raises(ConfigurationError, match="provision: apply_provision"):
        registry.connector_class("claims-to-provision")


def test_a_class_method_hook_counts_as_implemented_only_when_overridden() -> None:
    assert "provision_source: write_provision_source" not in missing_hooks(SalesforceConnector)
    with pytest.raises(CapabilityMissing, match="writes no provisioning source"):
        HubSpotConnector.write_provision_source(Path("out"))
