"""A `privacy: full` HubSpot keeps PHI only in sensitive-data properties, through the real
client and the HubSpot sandbox: provisioning creates them as sensitive, the app needs the
sensitive scopes, and anything else is refused at validate time."""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from mapping.errors import ConfigurationError, PermissionDenied, RefsyncError, SchemaMismatch
from sync.cli import app
from sync.demo import provision_hubspot
from sync.provisioning import provision_connection
from tests.sync.conftest import Hub
from tests.sync.test_privacy_tiers_canary import (
    BIRTHS_ISO,
    EXACT_TIMES,
    HEADER,
    IDENTITY,
    MRNS,
    NAMES,
    PHI_BLOCK,
    ROWS,
    _found,
    _run,
    _state_bytes,
)

PHI_FIELDS = (
    "      - {canonical: patient.name, native: refsync_patient_name, direction: out}\n"
    "      - {canonical: appointment_at, native: refsync_appointment_time, direction: out, "
    "transforms: [{datetime: epoch_ms}]}\n"
)
ANCHOR = "      - {canonical: patient_ref, native: refsync_patient_ref"


def _full_hubspot(hub: Hub, *, sensitive: str | None = "sensitive", privacy: str = "full") -> None:
    def edit(data):
        data["connections"]["epic"]["settings"]["phi_passthrough"] = True
        conn = data["connections"]["hubspot"]
        conn["privacy"] = privacy
        if privacy == "full":
            conn["baa"] = "HubSpot Sensitive Data Terms, Annex I (2024-09-18)"
        if sensitive:
            conn["settings"]["sensitive_data"] = sensitive

    hub.edit_config(edit)
    epic = hub.root / "mappings" / "epic.yaml"
    epic.write_text(epic.read_text() + PHI_BLOCK)
    if privacy == "full":
        mapping = hub.root / "mappings" / "hubspot.yaml"
        mapping.write_text(mapping.read_text().replace(ANCHOR, PHI_FIELDS + ANCHOR, 1))
    (hub.root / "exports" / "epic" / "canary.csv").write_text(HEADER + "\r\n".join(ROWS) + "\r\n")


def _fresh_account(hub: Hub, monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    """A new HubSpot account with the HIPAA setting on, provisioned with ``token``."""
    hub.hs.reset_data()
    hub.hs.sensitive_data = True
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", token)


def _deal_property(hub: Hub, name: str) -> dict:
    """A deal property as the API lists it: sensitive ones only when asked for."""
    client = hub.hs.make_client(access_token=hub.hs.sensitive_token)
    plain = client.api_request({"method": "GET", "path": "/crm/v3/properties/deals"}).json()
    asked = client.api_request(
        {
            "method": "GET",
            "path": "/crm/v3/properties/deals",
            "qs": {"dataSensitivity": "sensitive"},
        }
    ).json()
    listed = {p["name"]: p for p in plain["results"]}
    sensitive = {p["name"]: p for p in asked["results"]}
    assert not (listed.keys() & sensitive.keys())  # each property is listed in one place
    return listed.get(name) or sensitive[name]


def test_provisioning_a_full_hubspot_creates_its_phi_properties_as_sensitive_data(hub, monkeypatch):
    _full_hubspot(hub)
    _fresh_account(hub, monkeypatch, hub.hs.sensitive_token)
    provision_hubspot(hub.root)
    for name in ("refsync_patient_name", "refsync_appointment_time"):
        prop = _deal_property(hub, name)
        assert prop["dataSensitivity"] == "sensitive", name
        assert prop["sensitiveDataCategories"] == ["HIPAA"]
    for name in ("refsync_received_week", "refsync_patient_ref", "refsync_referral_number"):
        assert _deal_property(hub, name)["dataSensitivity"] == "non_sensitive", name


def test_a_full_hubspot_receives_its_phi_in_sensitive_properties_and_nothing_rests_in_clear(
    hub, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    _full_hubspot(hub)
    _fresh_account(hub, monkeypatch, hub.hs.sensitive_token)
    provision_hubspot(hub.root)
    sf, deals, report, outputs = _run(hub)
    assert _found(NAMES, deals) == NAMES
    assert _found(EXACT_TIMES[4:], deals) == EXACT_TIMES[4:]  # epoch ms of each appointment
    assert _found([*MRNS, *BIRTHS_ISO], deals) == []  # not mapped, so not sent
    assert _found(IDENTITY + EXACT_TIMES, sf) == []  # Salesforce stays deidentified
    log_text = "\n".join(r.getMessage() for r in caplog.records)
    assert _found(IDENTITY, report + outputs + log_text) == []
    assert _found(IDENTITY + EXACT_TIMES, _state_bytes(hub.root)) == []


def test_a_token_without_the_sensitive_scopes_is_refused_as_hubspot_refuses_it(hub, monkeypatch):
    _full_hubspot(hub)
    _fresh_account(hub, monkeypatch, hub.hs.sensitive_token)
    provision_hubspot(hub.root)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.hs.token)  # the app without them
    with pytest.raises(PermissionDenied) as caught:
        hub.run("scheduling-to-crm")
    assert "crm.objects.deals.sensitive.write" in str(caught.value)
    assert _found(NAMES, json.dumps([d["properties"] for d in hub.hs.records("deals")])) == []


def test_creating_a_sensitive_property_needs_the_scope_and_the_accounts_hipaa_setting(
    hub, monkeypatch
):
    _full_hubspot(hub)
    _fresh_account(hub, monkeypatch, hub.hs.token)
    with pytest.raises(PermissionDenied, match=r"crm\.objects\.deals\.sensitive\.write"):
        provision_hubspot(hub.root)
    hub.hs.sensitive_data = False
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.hs.sensitive_token)
    with pytest.raises(
        RefsyncError, match=r"refsync_appointment_time: rejected \[VALIDATION_ERROR"
    ):
        provision_hubspot(hub.root)


def test_an_ordinary_property_already_there_is_a_conflict_not_a_home_for_phi(hub, monkeypatch):
    _full_hubspot(hub)
    mapping = hub.root / "mappings" / "hubspot.yaml"  # an ordinary property of every account
    mapping.write_text(
        mapping.read_text().replace("refsync_appointment_time", "refsync_appointment_at")
    )
    hub.hs.sensitive_data = True
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.hs.sensitive_token)
    lines: list[str] = []
    provision_connection(hub.root, connection="hubspot", say=lines.append)
    [conflict] = [line for line in lines if "CONFLICT" in line]
    assert "refsync_appointment_at" in conflict and "exists as non_sensitive data" in conflict
    assert _deal_property(hub, "refsync_appointment_at")["dataSensitivity"] == "non_sensitive"
    assert _deal_property(hub, "refsync_patient_name")["dataSensitivity"] == "sensitive"


def _validate(hub: Hub) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", "--config", str(hub.root)])
    return result.exit_code, result.output


def _line_of(hub: Hub, text: str, after: str = "  hubspot:") -> int:
    lines = (hub.root / "refsync.yaml").read_text().splitlines()
    start = lines.index(after)
    return next(i for i, t in enumerate(lines, 1) if i > start and text in t)


def test_a_full_hubspot_without_sensitive_data_is_refused_before_any_api_call(hub):
    _full_hubspot(hub, sensitive=None)
    calls = hub.hs.stats.calls
    code, output = _validate(hub)
    assert code == 2
    where = f"{hub.root / 'refsync.yaml'}:{_line_of(hub, 'privacy: full')}:"
    assert where in output and "sensitive-data properties" in output
    assert "deals.refsync_patient_name" in output and "crm.objects.deals.sensitive.write" in output
    with pytest.raises(ConfigurationError):
        hub.run("scheduling-to-crm")
    assert hub.hs.stats.calls == calls


@pytest.mark.parametrize("privacy", ["deidentified", "limited"])
def test_sensitive_data_on_a_hubspot_below_full_is_refused(hub, privacy):
    _full_hubspot(hub, privacy=privacy)
    if privacy == "limited":
        hub.edit_config(lambda d: d["connections"]["hubspot"].update(data_use_agreement="DUA-7"))
    code, output = _validate(hub)
    assert code == 2
    assert f"{hub.root / 'refsync.yaml'}:{_line_of(hub, 'sensitive_data:')}:" in output
    assert f"sensitive_data: sensitive but privacy: {privacy}" in output


def _validate_online(hub: Hub) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", "--config", str(hub.root), "--online"])
    return result.exit_code, result.output


def test_validate_online_names_the_sensitive_scopes_the_token_lacks(hub, monkeypatch):
    _full_hubspot(hub)
    _fresh_account(hub, monkeypatch, hub.hs.sensitive_token)
    provision_hubspot(hub.root)
    code, output = _validate_online(hub)
    assert "lacks the scopes" not in output, output
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.hs.token)
    code, output = _validate_online(hub)
    assert code == 2
    [line] = [line for line in output.splitlines() if "lacks the scopes" in line]
    assert line.startswith(f"{hub.root / 'refsync.yaml'}:{_line_of(hub, 'sensitive_data:')}:")
    assert "crm.objects.deals.sensitive.read, crm.objects.deals.sensitive.write" in line


def _phi_bound_for_an_ordinary_property(hub, monkeypatch):
    """A full HubSpot whose mapping sends appointment times to a property not provisioned as
    sensitive data, with a token that holds the sensitive scopes."""
    _full_hubspot(hub)
    mapping = hub.root / "mappings" / "hubspot.yaml"
    mapping.write_text(
        mapping.read_text().replace("refsync_appointment_time", "refsync_appointment_at")
    )
    hub.hs.sensitive_data = True
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.hs.sensitive_token)


def test_validate_online_reports_phi_bound_for_an_ordinary_property(hub, monkeypatch):
    _phi_bound_for_an_ordinary_property(hub, monkeypatch)
    code, output = _validate_online(hub)
    assert code == 2
    assert "CONFLICT refsync_appointment_at (exists as non_sensitive data" in output


def test_a_run_refuses_to_write_phi_into_an_ordinary_property_and_writes_none(hub, monkeypatch):
    _phi_bound_for_an_ordinary_property(hub, monkeypatch)
    provision_hubspot(hub.root)  # creates refsync_patient_name; appointment_at is a conflict
    with pytest.raises(SchemaMismatch) as caught:
        hub.run("scheduling-to-crm")
    assert "refsync_appointment_at would receive PHI" in str(caught.value)
    assert "refsync_patient_name" not in str(caught.value)  # that one is sensitive
    assert hub.hs.records("deals") == []
