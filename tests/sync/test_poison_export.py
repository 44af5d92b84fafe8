"""One poison export never stops a connection (issue 16).

A `;`-delimited export with a 200 KB cell in its first rows used to crash layout detection
with an unhandled `_csv.Error` on every run, so the connection's good files never synced.
Now the oversized row is one rejected record naming its file and line, the rest of that file
and the good files beside it sync, and the run exits 1.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sync.cli import app
from tests.sync.conftest import Hub, sf_stages
from tests.sync.test_end_to_end import HEADER, write_export

JOB = "scheduling-to-crm"


def _cli(hub: Hub, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--config", str(hub.root)])
    return result.exit_code, result.output


def _row(appt: str, ref: str, status: str, when: str, reason: str = "") -> list[str]:
    names = {"1": "Scheduled", "2": "Completed", "3": "Canceled"}
    return [
        appt, "00012345", "CANARY,PATIENT", "02/28/1931", when, "03/01/2024 8:00 AM", status,
        names[status], when if status == "3" else "", reason, when if status == "2" else "",
        when if status == "2" else "", "CARDIOLOGY CLINIC", "NEW PATIENT VISIT", ref, "1234567893",
    ]  # fmt: skip


def _write_poison(hub: Hub, name: str) -> None:
    """`;`-delimited, a 200 KB cancel reason on data row 1 (line 2), a good row after it."""
    rows = [
        HEADER,
        _row("90", "REF-90", "3", "03/05/2024 9:30 AM", reason="x" * (200 * 1024)),
        _row("91", "REF-91", "1", "03/06/2024 9:30 AM"),
    ]
    text = "".join(";".join(cells) + "\r\n" for cells in rows)
    (hub.root / "exports" / "epic" / name).write_text(text, encoding="utf-8")


def _limit_cells(hub: Hub, limit: int) -> None:
    def edit(data):
        data["connections"]["epic"]["settings"]["max_cell_bytes"] = limit

    hub.edit_config(edit)


def test_a_poison_export_is_one_rejected_row_and_the_good_exports_beside_it_sync(hub: Hub):
    _limit_cells(hub, 128 * 1024)
    write_export(hub, "a_good.csv", [("1", "REF-1", "1", "03/05/2024 9:30 AM")])
    _write_poison(hub, "b_poison.csv")
    write_export(hub, "c_good.csv", [("3", "REF-3", "2", "03/07/2024 9:30 AM")])

    code, out = _cli(hub, "run", JOB)
    assert code == 1, out
    assert "Traceback" not in out and "_csv.Error" not in out

    assert sorted(sf_stages(hub.sf)) == ["REF-1", "REF-3", "REF-91"]
    code, out = _cli(hub, "errors", JOB, "--json")
    assert code == 0, out
    errors = json.loads(out)
    assert [(e["system"], e["code"]) for e in errors] == [("epic", "CELL_TOO_LARGE")]
    (error,) = errors
    assert error["key"] == "b_poison.csv:2"
    assert error["message"].startswith(
        "b_poison.csv line 2: a cell is larger than 131,072 bytes (settings.max_cell_bytes)"
    )
    assert "xxxx" not in error["message"]


def test_the_same_export_under_the_default_limit_syncs_every_row(hub: Hub):
    _write_poison(hub, "b_poison.csv")
    code, out = _cli(hub, "run", JOB)
    assert code == 0, out
    assert sorted(sf_stages(hub.sf)) == ["REF-90", "REF-91"]
