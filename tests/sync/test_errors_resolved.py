"""`refsync errors` lists what is still wrong: `retry` (or a later clean write) resolves what
it fixed, a failure that persists stays open, and `errors --all` keeps the history."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sync.cli import app
from tests.sync.conftest import Hub, sf_stages
from tests.sync.test_end_to_end import write_export

runner = CliRunner()
JOB = "scheduling-to-crm"


def _cli(hub: Hub, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--config", str(hub.root)])
    return result.exit_code, result.output


def _errors(hub: Hub, *extra: str) -> list[dict[str, object]]:
    code, out = _cli(hub, "errors", JOB, "--json", *extra)
    assert code == 0, out
    return json.loads(out)


def test_retry_resolves_a_fixed_source_row_and_errors_all_keeps_the_history(hub: Hub) -> None:
    write_export(hub, "a.csv", [("1", "", "1", "03/05/2024 9:30 AM")])  # no referral number
    code, out = _cli(hub, "run", JOB)
    assert code == 1, out
    assert [e["code"] for e in _errors(hub)] == ["UNMATCHED"]

    # Still broken: the retry hits it again, so it stays open (one more attempt).
    code, out = _cli(hub, "retry", JOB)
    assert code == 1, out
    still = _errors(hub)
    assert [(e["code"], e["attempts"]) for e in still] == [("UNMATCHED", 2)]

    # Fixed at the source: the retry resolves it, `errors` is empty, `--all` shows it resolved.
    write_export(hub, "a.csv", [("1", "REF-7", "1", "03/05/2024 9:30 AM")])
    code, out = _cli(hub, "retry", JOB)
    assert code == 0, out
    assert sf_stages(hub.sf) == {"REF-7": "Scheduled"}
    assert _errors(hub) == []
    code, out = _cli(hub, "errors", JOB)
    assert code == 0 and "Open record errors (0)" in out
    history = _errors(hub, "--all")
    assert [(e["code"], e["status"]) for e in history] == [("UNMATCHED", "resolved")]
    code, out = _cli(hub, "errors", JOB, "--all")
    assert code == 0 and "resolved" in out and "UNMATCHED" in out
