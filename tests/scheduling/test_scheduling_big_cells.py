"""Cells larger than the csv module's 128 KiB default: read, or rejected by size, never as quotes."""

from __future__ import annotations

from pathlib import Path

import pytest
from scheduling_support import read_all

EPIC_HEADER = "PAT_ENC_CSN_ID,PAT_MRN_ID,APPT_DTTM,APPT_STATUS_C,REFERRAL_ID,CANCEL_REASON_NAME"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_cell_over_the_old_128_kib_limit_is_read_like_any_other(tmp_path):
    big = "x" * (1024 * 1024)
    data = f"{EPIC_HEADER}\n1,1,2024-03-05 09:00,3,R-1,{big}\n2,2,2024-03-06 09:00,2,R-2,\n"
    result = read_all(_write(tmp_path, "x.csv", data), preset="epic_cadence")
    assert result.rejects == []
    assert result.stages() == {"1": "cancelled", "2": "completed"}


def test_a_semicolon_export_with_a_huge_cell_in_its_first_rows_is_detected_and_read(tmp_path):
    header = EPIC_HEADER.replace(",", ";")
    big = "y" * (200 * 1024)
    data = f"{header}\n1;1;2024-03-05 09:00;3;R-1;{big}\n2;2;2024-03-06 09:00;2;R-2;\n"
    result = read_all(_write(tmp_path, "x.csv", data), preset="epic_cadence")
    assert [e.code for e in result.rejects] == []
    assert result.stages() == {"1": "cancelled", "2": "completed"}


def test_a_cell_over_the_limit_is_rejected_by_size_and_the_next_rows_still_read(tmp_path):
    big = "z" * (300 * 1024)
    data = f"{EPIC_HEADER}\n1,1,2024-03-05 09:00,3,R-1,{big}\n2,2,2024-03-06 09:00,2,R-2,\n"
    path = _write(tmp_path, "x.csv", data)
    result = read_all(path, preset="epic_cadence", max_cell_bytes=256 * 1024)
    assert [(e.code, e.source_line) for e in result.rejects] == [("CELL_TOO_LARGE", 2)]
    message = result.rejects[0].message
    assert "larger than 262,144 bytes" in message and "max_cell_bytes" in message
    assert "quote" not in message and "zzz" not in message
    assert result.stages() == {"2": "completed"}


def test_an_unknown_encoding_override_is_refused_by_the_settings_not_on_every_file(tmp_path):
    from pydantic import ValidationError

    from connectors.scheduling.settings import SchedulingSettings

    with pytest.raises(ValidationError, match="unknown encoding 'klingon'"):
        SchedulingSettings(path=tmp_path, encoding="klingon")
