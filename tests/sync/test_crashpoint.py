"""REFSYNC_CRASH_AT kills the process exactly at its point, and nowhere else."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from mapping.errors import ConfigurationError
from sync.engine.crashpoint import CrashPoint

_SCRIPT = """
from sync.engine.crashpoint import CrashPoint
point = CrashPoint({spec!r})
for step in {steps!r}:
    kind, what, n = step
    if kind == "boundary":
        point.boundary(what)
    else:
        point.records(what, n)
    print(kind, what, n, flush=True)
"""


def _run(spec: str, steps: list[tuple[str, str, int]]) -> tuple[int, list[str]]:
    code = _SCRIPT.format(spec=spec, steps=steps)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return done.returncode, done.stdout.splitlines()


def test_a_records_point_dies_on_the_tick_that_reaches_it_counting_every_destination() -> None:
    steps = [
        ("records", "read referral from epic", 500),  # another phase: not counted
        ("records", "write referral to salesforce", 200),
        ("records", "write referral to hubspot", 200),
        ("records", "write referral to salesforce", 100),  # 500 written: dies here
        ("records", "write referral to hubspot", 100),
    ]
    code, printed = _run("write:450", steps)
    assert code == -signal.SIGKILL
    assert len(printed) == 3


def test_a_phase_point_dies_before_that_phase_only() -> None:
    steps = [("boundary", "read", 0), ("boundary", "derive", 0), ("boundary", "write", 0)]
    code, printed = _run("phase:derive", steps)
    assert (code, len(printed)) == (-signal.SIGKILL, 1)


@pytest.mark.parametrize("spec", ["", "write", "write:0", "write:-3", "phase:lunch", "kill:5"])
def test_a_malformed_point_is_a_configuration_error_naming_the_forms(spec: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape("phase:<read|derive|write|bookm")):
        CrashPoint(spec)
