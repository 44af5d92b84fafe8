"""``refsync sandbox`` as an admin runs it: exports printed, clients connect, data kept in --data."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys

import pytest
from simple_salesforce import Salesforce

from sync.cli.cmd_sandbox import export_lines, run_sandboxes


def _start(data_dir):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sync.cli import main; main()",
            "sandbox",
            "--data",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    exports = {}
    while "HUBSPOT_ACCESS_TOKEN" not in exports:
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            pytest.fail(f"refsync sandbox exited early: {proc.stderr.read()}")
        name, _, value = line.removeprefix("export ").strip().partition("=")
        exports[name] = shlex.split(value)[0]
    return proc, exports


def _stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


def _client(exports):
    sf = Salesforce(
        instance_url=exports["SF_INSTANCE_URL"],
        session_id=exports["SF_ACCESS_TOKEN"],
        version="62.0",
    )
    sf.session.verify = exports["SF_CA_FILE"]
    sf.session.trust_env = False  # REQUESTS_CA_BUNDLE in the test environment would override verify
    return sf


@pytest.mark.slow
def test_sandbox_command_prints_exports_and_keeps_data_across_restarts(tmp_path):
    proc, exports = _start(tmp_path)
    try:
        assert exports["SF_INSTANCE_URL"].startswith("https://127.0.0.1:")
        assert exports["HUBSPOT_HOST"].startswith("http://127.0.0.1:")
        _client(exports).Account.create({"Name": "Kept", "Refsync_Id__c": "p-1"})
    finally:
        _stop(proc)
    proc, exports = _start(tmp_path)
    try:
        rows = _client(exports).query("SELECT Name FROM Account WHERE Refsync_Id__c = 'p-1'")[
            "records"
        ]
        assert [r["Name"] for r in rows] == ["Kept"]
    finally:
        _stop(proc)


def test_export_lines_quote_values_for_the_shell(tmp_path):
    with run_sandboxes(data=tmp_path) as (sf, hs):
        lines = export_lines(sf, hs)
    assert f"export SF_CA_FILE={shlex.quote(sf.ca_file)}" in lines
    assert any(line.startswith("export SF_ACCESS_TOKEN='00D") for line in lines)
