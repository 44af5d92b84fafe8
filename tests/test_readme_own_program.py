"""The README's "Your own program" steps, run as written against the local sandboxes.

The commands are parsed out of README.md (its first ``bash`` block under "Your own program"),
so the README and this test cannot drift: a changed, added or removed step changes what runs.
``refsync`` lines run in-process (CliRunner) in a fresh working directory, except the two
that keep running (`refsync sandbox ... &` and `refsync schedule`), which run as processes.
The `cp` of "your export" copies a small Epic Cadence export with one bad row to the place the
README names; between `errors` and `retry` that row is fixed "at its source", as the README
says.
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app
from tests.sync.test_end_to_end import HEADER

README = Path(__file__).resolve().parents[1] / "README.md"
_CLEAN_ENV = ("REFSYNC_", "SF_", "HUBSPOT_", "REQUESTS_CA_BUNDLE")
_WAIT = 300.0  # generous: a loaded 2-core machine; only a hang reaches it


def readme_steps() -> list[list[str]]:
    """The commands of the README's "Your own program" bash block, comments stripped."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Your own program", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None, "README: no bash block under 'Your own program'"
    return [shlex.split(line, comments=True) for line in block.group(1).splitlines() if line]


def _row(appt: str, ref: str, status: str) -> list[str]:
    names = {"1": "Scheduled", "2": "Completed"}
    when = "03/05/2024 9:30 AM"
    done = when if status == "2" else ""
    return [
        appt, "00012345", "CANARY,PATIENT", "02/28/1931", when, "03/01/2024 8:00 AM",
        status, names[status], "", "", done, done, "CARDIOLOGY CLINIC", "NEW PATIENT VISIT",
        ref, "1234567893",
    ]  # fmt: skip


def write_export(folder: Path, *, fixed: bool) -> Path:
    """Two good rows, and one without a referral number until it is fixed."""
    path = folder / "appointments.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        out.writerow(_row("1", "REF-1041", "2"))
        out.writerow(_row("2", "REF-1042", "1"))
        out.writerow(_row("3", "REF-1043" if fixed else "", "1"))
    return path


def _refsync_process(args: list[str], **kwargs: object) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEAN_ENV)}
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "sync", *args], env=env, text=True, **kwargs
    )


def _wait_for(predicate: object, what: str) -> None:
    deadline = time.monotonic() + _WAIT
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh directory as the working directory, with no refsync variable inherited."""
    for name in list(os.environ):
        if name.startswith(_CLEAN_ENV):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


class Steps:
    """Runs README steps; keeps what later assertions look at."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.outputs: dict[str, str] = {}
        self.background: list[subprocess.Popen[str]] = []

    def run(self, argv: list[str]) -> None:
        if argv[0] == "cp":
            self.copy_export(Path(argv[-1]))
        elif argv[0] == "refsync" and argv[-1] == "&":
            self.start_sandbox(argv[1:-1])
        elif argv[:2] == ["refsync", "schedule"]:
            self.one_tick_of_schedule(argv[1:])
        else:
            assert argv[0] == "refsync", f"README step not understood: {shlex.join(argv)}"
            self.invoke(argv[1:])

    def copy_export(self, target: Path) -> None:
        assert target.is_dir(), f"the README copies the export into {target}: init made it"
        write_export(target, fixed=False)
        self.export_folder = target

    def start_sandbox(self, args: list[str]) -> None:
        redirect = args.index(">>")
        dotenv = Path(args[redirect + 1])
        with dotenv.open("a", encoding="utf-8") as out:
            self.background.append(_refsync_process(args[:redirect], stdout=out))
        _wait_for(
            lambda: "export HUBSPOT_ACCESS_TOKEN=" in dotenv.read_text(), "the sandbox settings"
        )

    def invoke(self, args: list[str]) -> None:
        result = CliRunner().invoke(app, args, terminal_width=240)
        name = args[0] if args[0] != "provision" else f"provision {args[1]}"
        expected = 1 if name == "run" else 0  # the export's bad row: exit 1, as documented
        assert result.exit_code == expected, f"refsync {shlex.join(args)}:\n{result.output}"
        self.outputs[name] = result.output
        if name == "errors" and "retry" not in self.outputs:
            write_export(self.export_folder, fixed=True)  # "fix each at its source"

    def one_tick_of_schedule(self, args: list[str]) -> None:
        proc = _refsync_process(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        lines: list[str] = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("partners-to-hubspot:"):  # the job never run: due at once
                break
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=_WAIT)
        self.outputs["schedule"] = "".join(lines) + rest
        assert proc.returncode == 0, self.outputs["schedule"]

    def stop(self) -> None:
        for proc in self.background:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=_WAIT)


def test_the_readme_own_program_steps_work_as_written_against_the_sandboxes(
    workdir: Path,
) -> None:
    steps = readme_steps()
    assert steps[0][:2] == ["refsync", "init"]
    program = workdir / steps[0][2]
    runner = Steps(program)
    try:
        for argv in steps:
            runner.run(argv)
    finally:
        runner.stop()
    out = runner.outputs
    assert "valid (against the live systems)" in out["validate"]
    assert "REF-1041: (new) -> completed (from epic)" in out["plan"]
    assert "By stage: would move" in out["plan"]
    assert "scheduling-to-crm: finished with rejected records" in out["run"]
    assert "scheduling-to-crm" in out["status"] and "Next runs" in out["status"]
    assert "Open record errors (1)" in out["errors"]
    assert "scheduling-to-crm: ok" in out["retry"]
    assert "next run" in out["schedule"] and "stopped; running jobs finished" in out["schedule"]
    after = CliRunner().invoke(app, ["errors", "--config", str(program)], terminal_width=240)
    assert "Open record errors (0)" in after.output


def test_the_readme_own_program_section_names_what_a_new_user_must_set_up() -> None:
    section = README.read_text(encoding="utf-8").split("## Your own program", 1)[1]
    section = section.split("\n## ", 1)[0]
    for needed in (
        "refsync sandbox",
        "REFSYNC_PATIENT_KEY",
        "refsync provision hubspot",
        "refsync provision salesforce",
        "exports/epic",
        "validate --config myprogram --online",
    ):
        assert needed in section, needed
