"""bench/run_all.py: docs/benchmarks.md carries min/median/max, the ratios and the machine's load."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _run_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "bench" / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = module
    spec.loader.exec_module(module)
    return module


def _runs(records: int, walls: list[float], cpus: list[float]) -> list[dict[str, float]]:
    return [
        {"records": records, "wall": w, "cpu": c, "calls": 5}
        for w, c in zip(walls, cpus, strict=True)
    ]


def test_the_read_table_gives_each_reader_min_median_max_and_its_ratio_to_refsync() -> None:
    run_all = _run_all()
    data = {
        "records": 1000,
        "rounds": 3,
        "dlt": "dlt 1.0",
        "loads": [0.5, 0.75, 1.0, 1.25],
        "results": {
            # refsync 1000 records in 1, 2 and 4 s: 1,000 / 500 / 250 rec/s, median 500.
            "sf": {
                "refsync": _runs(1000, [1, 2, 4], [0.5, 0.5, 0.5]),
                "dlt": _runs(1000, [2, 4, 8], [1, 1, 1]),  # median 250 rec/s wall, 1,000 CPU
            },
            "hs": {"refsync": _runs(1000, [1, 1, 1], [1, 1, 1])},
        },
    }
    outcome = run_all.Outcome(run_all.BENCHES[0], ("--records", "1000"), data=data)
    outcome.walls, outcome.cpus, outcome.loads = [10.0], [3.0], [(0.5, 1.25)]

    text = run_all.render([outcome], full=False, started=datetime(2026, 1, 1, tzinfo=UTC))

    assert "load average per round: 0.50, 0.75, 1.00, 1.25" in text
    assert (
        "| Salesforce | refsync | 5 | 250 / 500 / 1,000 | 2,000 / 2,000 / 2,000 | 1.00x | 1.00x |"
        in text
    )
    assert (
        "| Salesforce | dlt | 5 | 125 / 250 / 500 | 1,000 / 1,000 / 1,000 | 2.00x | 2.00x |" in text
    )
    assert "| `read_side_by_side.py` | `--records 1000` | 1 | 10.0 / 10.0 / 10.0 | 3.0 / 3.0 / 3.0 | 0.50 → 1.25 | ok |" in text  # fmt: skip


def test_the_ingest_table_gives_the_connector_cpu_as_a_multiple_of_the_naive_load() -> None:
    run_all = _run_all()
    measures = [
        {"size": 100, "reader": "connector", "rows": 100, "seconds": 2.0, "cpu": 3.0,
         "peak_mb": 50.0, "baseline_mb": 40.0},
        {"size": 100, "reader": "naive", "rows": 100, "seconds": 1.0, "cpu": 1.5,
         "peak_mb": 60.0, "baseline_mb": 40.0},
    ]  # fmt: skip
    lines = run_all._ingest_tables({"load": 1.5, "measures": measures})
    assert "| 100 | connector | 50 | 2.0 | 3.0 | 2.00x | 50 | 10 |" in lines
    assert "| 100 | naive | 100 | 1.0 | 1.5 | 1.00x | 60 | 20 |" in lines
