"""Reading the messy-export corpus yields exactly what it did before the reader was sped up.

The digests below were computed with the connector of main before the ingest CPU work
(issue 15): every record (id, fields in order, types, zones, folds), reject (message, line,
field, code), bookmark, page cut and counter of each case must stay byte-identical. A change
that means to alter what a read yields regenerates them (``python -c`` over
``messy_exports.CASES`` with :func:`messy_exports.read_digest`) and says why in its commit.
"""

from __future__ import annotations

from collections import Counter

import pytest
from messy_exports import CASES, Case, read_digest, write_case
from scheduling_support import read_all

from connectors.scheduling.presets import PRESETS

PINNED = {
    "epic-nul-bytes": "f5f5a735e843883a178ba6c8a732d969de9717ffe2e76197ad495decf34f38db",
    "nextgen-nul-cp1252": "1f6c1c8b450a967448f19bd151b456c31101a2def8580f24fec770104e6c24b7",
    "epic-crlf-bom": "614a890effdc1601b21d18a3cbfebceaab67b6e9dbcd15caa0ec6e023530c884",
    "epic-quote-all-lf": "2a087cf95dd11d65e272ae6984dda9db877474fc73aeadbf3d6ee2145bc4314f",
    "epic-phi": "622fb9abbf7648258d737dfe859af6ea564b992c3581ebfaa3841a34f304b7ac",
    "epic-snapshot-utc": "4abff72da8bb6f487c79d2a71f1b2ceefa9ef5612f32c5010718ab0205915269",
    "epic-kolkata-semicolon": "bf149c8379d9d69dacfb2b67d9b5e30763c3a5d88f38db9651dd180f0c4960c4",
    "epic-cp1252": "942520960fc6dd0898cafb4535f9fa20f99ca76de35707f2ebd9d1324779a588",
    "epic-small-pages": "730fc38fe506671946d4105790099f3d6db57b23926c2e78c8734dd6d1cdbd22",
    "epic-big-cell": "4d445396d5d6a9fd23f2eab4ecec296405f3a9f08009dd22652d55bddf986a07",
    "epic-clock-override": "88cb06e8801407e8ebdddfa5b05b6aba88d5636be7943b4d9c842b0527b4c9df",
    "athena-tab": "138db642edb9fb829ccfba5c3b89fd452cac9e29a7bbe5146afae38271277843",
    "athena-pipe-phi": "88966b94789a22c53017aafba56142747b79b533b56189231b67e52073fa670d",
    "athena-utf16": "8ecb0ef2881c909fa36adbeadc7108afeaba1f8a68e04a59fe1894ccf6ee8d4f",
    "athena-london": "233ce2ad49f9a1cb55452a9e29f2118eff23e03e8c8c3de436c7339148b7d2d8",
    "athena-status-map": "b2b4a1aca0dfb9e896d3bfb5762012f31701ca71410d00284f93729ce1018a09",
    "nextgen-tab": "33728a69ac02a42e34a484095b59061fb0911b708d9defd849ff45c69f065b65",
    "nextgen-newyork": "461ceaa7f4ce8c7715097c46174326c2e49b812b5bc96da5f5ddcad74b36ad1a",
    "nextgen-snapshot-lordhowe": "b7f016411b70ed6d2fc2d308d3ae72405126ca9dc081031f3632a1ac96304622",
    "generic-comma": "6ad2e285d3ef58e04a43e6b4a9091f7dfd3950b9206bfd9b41d0ad6dfee7ef0a",
    "generic-semicolon-phi": "60ffe9dd714e1718ed43842411c0adb884e3cbb37edb76fc4751e5641067f941",
    "generic-forced-delimiter": "48449f2530fb62ea4b3407939681ac483f80282fe21ca62a3521351d1ecf780f",
    "generic-latin1-forced": "71929c291d34860b744e8cd6e5264618966b6fb07957d872ab9d3d90bcf21247",
    "custom-columns": "c7f17c9e97d76f9a07ffe8483a7d392a33f4d9500cb20256ac91dffc43cff937",
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_messy_export_reads_byte_identical_to_the_pinned_digest(case: Case, tmp_path):
    folder = write_case(case, tmp_path / case.name)

    assert read_digest(case, folder) == PINNED[case.name]


def test_every_case_is_pinned():
    assert sorted(PINNED) == sorted(c.name for c in CASES)


def test_the_corpus_reaches_every_preset_reject_and_stage(tmp_path):
    presets, codes, stages, skipped = set(), Counter(), Counter(), 0
    for case in CASES:
        folder = write_case(case, tmp_path / case.name)
        result = read_all(folder, preset=case.preset, timezone=case.zone, **case.settings)
        presets.add(case.preset)
        codes.update(e.code for e in result.rejects)
        stages.update(r.fields["stage"] for r in result.records)
        skipped += result.connector.stats.skipped
        assert all(e.source_line or e.code in ("NO_HEADER", "UNREADABLE_FILE")
                   for e in result.rejects)  # fmt: skip

    assert presets == {*PRESETS, "custom"}
    assert set(codes) == {
        "BAD_DATE", "NO_MATCH_KEY", "MISSING_DATE", "UNKNOWN_STATUS", "MALFORMED_ROW",
        "MISSING_STATUS", "CELL_TOO_LARGE", "UNREADABLE_FILE", "NO_HEADER",
    }  # fmt: skip
    assert min(stages[s] for s in ("scheduled", "completed", "cancelled", "no_show")) > 100
    assert skipped > 50
