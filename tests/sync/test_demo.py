"""`refsync demo`, the README's first line: a full sync with no credentials and no network."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app


@pytest.fixture(autouse=True)
def _patient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REFSYNC_PATIENT_KEY", raising=False)


def test_the_demo_syncs_everything_and_its_second_run_writes_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "run of partners-to-hubspot: partners-to-hubspot: ok" in out
    assert "run of outreach-to-salesforce: outreach-to-salesforce: ok" in out
    assert "REF-1041: (new) -> completed (from epic)" in out
    assert "Salesforce now holds 12 referrals and HubSpot 12 deals" in out
    assert "the second run made 0 write calls" in out
    # the referrals of the three seeded practices, counted on both CRMs' partner records
    assert "Partner rollups count 12 referrals on Salesforce Accounts and 12 on HubSpot" in out
    program = tmp_path / "program"
    assert (program / "refsync.yaml").exists() and (program / "state.db").exists()
    # no patient identifier of the demo export reached the state's error table or the report
    assert "DEMO,PATIENT" not in out


def test_the_demo_leaves_no_sandbox_token_in_the_environment(tmp_path: Path) -> None:
    # the environment beats a program's .env: a leftover token would override the next
    # program's credentials in this process (it did: online validation then failed auth)
    import os

    before = dict(os.environ)
    result = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert dict(os.environ) == before
