"""A program directory wired to running sandboxes, for end-to-end engine tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from config import write_program
from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from sync.demo import point_at_sandboxes, provision_hubspot
from sync.engine import Engine, Runtime, open_program
from sync.state import StateStore


@pytest.fixture(scope="module")
def sf_server() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def hs_server() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox() as sandbox:
        yield sandbox


@dataclass
class Hub:
    """A program, its sandboxes and a way to run its jobs like `refsync run` does."""

    root: Path
    sf: SalesforceSandbox
    hs: HubSpotSandbox
    state_url: str

    def engine(self) -> tuple[Engine, Runtime, StateStore]:
        store = StateStore.open(self.state_url)
        runtime = Runtime(open_program(self.root))
        return Engine(runtime, store), runtime, store

    def run(self, job: str) -> Any:
        engine, runtime, store = self.engine()
        try:
            return engine.run(job)
        finally:
            runtime.close()
            store.close()

    def plan(self, job: str) -> Any:
        engine, runtime, store = self.engine()
        try:
            return engine.plan(job)
        finally:
            runtime.close()
            store.close()

    def edit_config(self, edit: Any) -> None:
        yaml = YAML()
        path = self.root / "refsync.yaml"
        data = yaml.load(path.read_text(encoding="utf-8"))
        edit(data)
        with path.open("w", encoding="utf-8") as fh:
            yaml.dump(data, fh)

    def write_write_calls(self) -> int:
        return self.sf.stats.write_calls + self.hs.stats.write_calls


@pytest.fixture
def hub(
    tmp_path: Path,
    sf_server: SalesforceSandbox,
    hs_server: HubSpotSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> Hub:
    return make_hub(tmp_path / "program", sf_server, hs_server, monkeypatch)


def make_hub(
    root: Path,
    sf_server: SalesforceSandbox,
    hs_server: HubSpotSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> Hub:
    """A fresh program and state store on emptied sandboxes."""
    sf_server.reset_data()
    sf_server.faults.clear()
    sf_server.stats.reset()
    sf_server.new_session()
    hs_server.reset()
    write_program(root)
    env: dict[str, str] = {}
    point_at_sandboxes(root, sf_server, hs_server, env)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("REFSYNC_PATIENT_KEY", "test-key-" + "0" * 40)
    provision_hubspot(root)
    hs_server.stats.reset()
    (root / "exports" / "epic").mkdir(parents=True, exist_ok=True)
    return Hub(root, sf_server, hs_server, f"sqlite:///{root / 'state.db'}")


def deal_stages(hs: HubSpotSandbox) -> dict[str, str]:
    """refsync_referral_number -> deal stage label, read through the real client."""
    client = hs.make_client()
    labels = {
        s.id: s.label
        for p in client.crm.pipelines.pipelines_api.get_all("deals").results
        for s in p.stages
    }
    return {
        d["properties"]["refsync_referral_number"]: labels[d["properties"]["dealstage"]]
        for d in hs.records("deals")
    }


def sf_stages(sf: SalesforceSandbox) -> dict[str, str]:
    return {r["Referral_Number__c"]: r["Stage__c"] for r in sf.records("Referral__c")}


def env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}


@pytest.fixture
def program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A program from the templates with no state key or URL from this machine's
    environment (modules that need another program define their own ``program``)."""
    for name in ("REFSYNC_STATE_KEY", "REFSYNC_STATE_KEY_FILE", "REFSYNC_STATE_URL"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "program"
    write_program(root)
    return root
