"""Run-time PHI redaction: every PHI value a run reads is redacted from every log line after.

A canary patient (name, MRN, birth date) is planted in a scheduling export read with
``phi_passthrough: true``; vendor-style log lines and exceptions that carry the canary are
then logged through the real logging configuration (``sync.logs.configure_logging``).
"""

from __future__ import annotations

import csv
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from sync.demo import write_epic_export
from sync.logs import PhiValues, configure_logging, register_phi
from tests.sync.conftest import Hub

JOB = "scheduling-to-crm"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _plant_canary(export: Path, last: str, first: str, mrn: str, born: str) -> None:
    """Put the canary patient on the export's first row (Epic columns)."""
    with export.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    row = rows[1]
    row[header.index("PAT_MRN_ID")] = mrn
    row[header.index("PAT_NAME")] = f"{last},{first}"
    row[header.index("BIRTH_DATE")] = born
    with export.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def _vendor_noise(first: str, last: str, mrn: str) -> None:
    """What a vendor library might log while handling the record: a debug line, a failure."""
    logging.getLogger("simple_salesforce.api").debug(
        "POST body {'Patient_Name__c': %r, 'MRN__c': %r}", f"{first} {last}", mrn
    )
    try:
        raise ValueError(f"record rejected: patient {last.upper()}, {first} born 1955-03-04")
    except ValueError:
        logging.getLogger("hubspot.crm.objects").exception("batch upsert failed")
    logging.getLogger("urllib3.connectionpool").debug(
        "GET /search?q=%s%%20%s&mrn=%s HTTP/1.1 200", first, last, mrn.lstrip("0")
    )


def test_a_canary_patient_read_by_a_run_never_reaches_a_log_line(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    """Failure catalogue: L1."""
    tag = uuid.uuid4().hex[:6].upper()
    last, first, mrn = f"ZYXCANARY{tag}", f"QUENTIN{tag}", "00991177"
    hub.edit_config(
        lambda d: d["connections"]["epic"]["settings"].__setitem__("phi_passthrough", True)
    )
    export = write_epic_export(hub.root / "exports" / "epic" / "a.csv", 4, datetime.now(UTC))
    _plant_canary(export, last, first, mrn, "03/04/1955")
    configure_logging(verbose=True)
    logging.getLogger().setLevel(logging.DEBUG)  # vendor libraries' debug output too

    # Before any run read the canary, nothing knows it is PHI: the control shows the lines
    # this test logs do carry it.
    _vendor_noise(first, last, mrn)
    before = capsys.readouterr().err
    assert f"{first} {last}" in before and mrn in before

    report = hub.run(JOB)
    assert report.status in ("ok", "finished with rejected records")
    _vendor_noise(first, last, mrn)
    after = capsys.readouterr().err
    assert "batch upsert failed" in after and "ValueError" in after
    assert "[REDACTED]" in after
    for value in (first, last, mrn, mrn.lstrip("0"), "1955-03-04"):
        assert value.lower() not in after.lower(), value


def test_phi_values_are_found_in_their_common_spellings_and_nothing_else() -> None:
    phi = PhiValues()
    phi.add("DOE,JANE Q", is_name=True)
    phi.add("000123456")
    phi.add(date(1980, 1, 2))
    phi.add("ab")  # too short to identify anyone: not registered
    text = (
        "Jane Q Doe / DOE,JANE Q / Doe, Jane Q; Doe; mrn 123456 and 000123456; born 01/02/1980 or "
        "1980-01-02; url q=Jane+Q+Doe; id MRN000123456, user jane_doe; Janet Doerr ab"
    )
    assert phi.redact(text) == (
        "[REDACTED] / [REDACTED] / [REDACTED]; Doe; mrn [REDACTED] and [REDACTED]; "
        "born [REDACTED] or [REDACTED]; url q=[REDACTED]; id MRN[REDACTED], user "
        "[REDACTED]_doe; Janet Doerr ab"
    )


def test_a_celery_workers_log_lines_pass_the_same_redaction(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from sync.distributed import celery_app

    canary = f"Quentin Zyxcanary{uuid.uuid4().hex[:6]}"
    register_phi(canary, is_name=True)
    # What `refsync worker` does at start: Celery sets up its own handlers on the root logger.
    celery_app.log.setup_logging_subsystem(loglevel=logging.INFO, colorize=False)
    logging.getLogger("celery.app.trace").info("Task succeeded: %s", {"note": canary})
    err = capfd.readouterr().err
    assert "Task succeeded" in err and "[REDACTED]" in err
    assert canary.split()[1].lower() not in err.lower()


def test_the_phi_registry_keeps_hashes_of_what_it_redacts_never_the_text() -> None:
    phi = PhiValues()
    phi.add("DOE,JANE Q", is_name=True)
    phi.add("000123456")
    phi.add(date(1980, 1, 2))
    held = [item for kept in vars(phi).values() if isinstance(kept, set) for item in kept]
    assert held and all(isinstance(item, int) for item in held)
    assert phi.redact("Jane Q Doe, mrn 123456, born 1980-01-02") == (
        "[REDACTED], mrn [REDACTED], born [REDACTED]"
    )
