"""The fast paths of the CSV read: the generated converter, the hot-loop hasher, NUL-free lines."""

from __future__ import annotations

import io

import pytest

from connectors.scheduling.files import fingerprint, iter_lines
from connectors.scheduling.patient import PatientKeyer


@pytest.mark.parametrize("key", [b"k" * 16, b"k" * 64, b"k" * 65])
def test_the_hot_loop_hasher_gives_every_mrn_the_key_for_normal_mrn_gives(key):
    keyer = PatientKeyer(key, namespace="site-a")
    hasher = keyer.normal_mrn_hasher()

    for mrn in ("1", "12345", "A7B", "0", "9" * 40):
        assert hasher(mrn) == keyer.for_normal_mrn(mrn)


def test_a_file_without_nul_bytes_is_read_through_its_own_line_iterator(tmp_path):
    clean, dirty = tmp_path / "clean.csv", tmp_path / "dirty.csv"
    clean.write_bytes(b"a,b\r\n1,2\r\n")
    dirty.write_bytes(b"a,b\r\n1\x00,2\r\n")
    clean_print, dirty_print = fingerprint(clean), fingerprint(dirty)

    lines = iter_lines(clean, "utf-8-sig", clean_print.nul)
    dirty_lines = iter_lines(dirty, "utf-8-sig", dirty_print.nul)
    utf16 = iter_lines(clean, "utf-16", False)

    assert (clean_print.nul, dirty_print.nul) == (False, True)
    assert isinstance(lines, io.TextIOWrapper) and list(lines) == ["a,b\r\n", "1,2\r\n"]
    assert not isinstance(dirty_lines, io.TextIOWrapper)
    assert list(dirty_lines) == ["a,b\r\n", "1,2\r\n"]
    assert not isinstance(utf16, io.TextIOWrapper)  # a NUL byte is not a NUL there
    for it in (lines, dirty_lines, utf16):
        it.close()  # type: ignore[attr-defined]
