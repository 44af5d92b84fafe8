"""`refsync report` and `refsync pipeline` through the CLI, on a program with a year of data.

Also the PHI canary: every referral in the store carries a PHI block with canary values;
none of them, and no referral number or patient surrogate key, may reach the report, its
CSV tables or the pipeline's output.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.insights.html import CHARTS
from sync.state import StateStore
from tests.sync.report_support import AS_OF, CANARIES, make_program

runner = CliRunner()
TABLES = {"summary", "funnel", "stages", "time_to_schedule", "scorecard",
          "outreach_vs_referrals", "sla_breaches", "data_quality", "partner_service_lines",
          "campaigns", "outreach"}  # fmt: skip


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_program(tmp_path_factory.mktemp("program"))


def _invoke(*args: str):
    from sync.cli import app

    return runner.invoke(app, [*args, "--as-of", AS_OF.isoformat()])


@pytest.fixture(scope="module")
def outputs(program: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("out")
    report = _invoke("report", "--config", str(program), "--out", str(out / "r.html"),
                     "--csv", str(out / "csv"))  # fmt: skip
    assert report.exit_code == 0, report.output
    pipe = _invoke("pipeline", "--config", str(program))
    pipe_json = _invoke("pipeline", "--config", str(program), "--json")
    texts = {"report.html": (out / "r.html").read_text(encoding="utf-8"),
             "pipeline": pipe.output, "pipeline --json": pipe_json.output}  # fmt: skip
    texts |= {p.name: p.read_text(encoding="utf-8-sig") for p in (out / "csv").glob("*.csv")}
    return texts


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(text.splitlines()))


def test_report_writes_one_csv_per_table(outputs):
    assert {name.removesuffix(".csv") for name in outputs if name.endswith(".csv")} == TABLES


def test_no_phi_referral_number_or_patient_key_reaches_any_output(outputs):
    for name, text in outputs.items():
        for canary in CANARIES:
            assert canary not in text, f"{canary} leaked into {name}"
        assert not re.search(r"REF-5\d{3}", text), f"a referral number leaked into {name}"
        assert not re.search(r"\bpt_\d+", text), f"a patient key leaked into {name}"


def test_the_report_is_self_contained_and_loads_nothing_from_outside(outputs):
    page = outputs["report.html"]
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|@import|<iframe", page)
    assert "default-src 'none'" in page
    # plotly.js once, one call per chart, the sorter and the chart list: all inline
    assert page.count("<script") == 3 + len(CHARTS)
    assert page.count("Plotly.newPlot") == len(CHARTS)


def test_csv_tables_match_the_measures_and_suppress_small_counts(outputs):
    summary = {r["measure"]: r["value"] for r in _rows(outputs["summary.csv"])}
    assert summary["referrals"] == "160"
    funnel = _rows(outputs["funnel.csv"])
    assert [r["stage"] for r in funnel] == ["referred", "intake_received", "accepted",
                                            "scheduled", "completed"]  # fmt: skip
    counts = [int(r["referrals"]) for r in funnel]
    assert counts == sorted(counts, reverse=True) and counts[0] == 160
    quality = {(r["problem"], r["item"]): r["count"] for r in _rows(outputs["data_quality.csv"])}
    assert quality[("unmatched appointment", "from epic")] == "12"
    assert quality[("rejected record", "hubspot deals: INVALID_FIELD")] == "<11"  # 3 rejected
    scorecard = _rows(outputs["scorecard.csv"])
    assert [r["partner"] for r in scorecard][-1] == "Quiet Clinic"
    assert scorecard[-1]["referrals"] == "0" and scorecard[-1]["status"] == "engaged"


def test_a_higher_threshold_suppresses_more(program, tmp_path):
    result = _invoke("report", "--config", str(program), "--out", str(tmp_path / "r.html"),
                     "--csv", str(tmp_path), "--threshold", "60")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = _rows((tmp_path / "scorecard.csv").read_text(encoding="utf-8-sig"))
    assert {r["referrals"] for r in rows} == {"<60", "0"}  # 54, 53, 53 and Quiet Clinic's 0
    assert {r["median_days_to_schedule"] for r in rows} <= {"suppressed", ""}


def test_since_limits_the_period(program, tmp_path):
    result = _invoke("report", "--config", str(program), "--out", str(tmp_path / "r.html"),
                     "--csv", str(tmp_path), "--since", "2026-05-31")  # fmt: skip
    assert result.exit_code == 0, result.output
    months = [r["month"] for r in _rows((tmp_path / "outreach_vs_referrals.csv").read_text(
        encoding="utf-8-sig"))]  # fmt: skip
    assert months == ["2026-05", "2026-06"]


def test_a_bad_since_exits_2_and_says_what_to_write(program, tmp_path):
    result = _invoke("report", "--config", str(program), "--since", "last tuesday")
    assert result.exit_code == 2
    assert "--since 'last tuesday'" in result.output and "90d" in result.output


def test_pipeline_prints_the_funnel_and_top_partners(outputs):
    text = outputs["pipeline"]
    assert "Stage funnel" in text and "Top partners" in text
    assert text.index("Northside Family Medicine") < text.index("Quiet Clinic")


def test_pipeline_json_for_one_partner_gives_its_own_funnel(program):
    result = _invoke("pipeline", "--config", str(program), "--json",
                     "--partner", "lakeview health")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [p["partner"] for p in data["partners"]] == ["Lakeview Health"]
    assert data["funnel"][0] == {**data["funnel"][0], "stage": "referred", "referrals": 53}


def test_pipeline_for_an_unknown_partner_exits_2(program):
    result = _invoke("pipeline", "--config", str(program), "--partner", "Nobody Clinic")
    assert result.exit_code == 2 and "no partner named 'Nobody Clinic'" in result.output


def test_the_report_reads_the_store_only(program, tmp_path):
    store = StateStore.open(f"sqlite:///{program / 'state.db'}")
    try:
        before = [r.id for r in store.last_runs(limit=100)]
        versions = {r.id: r.version for r in store.iter_records("partner")}
    finally:
        store.close()
    assert _invoke("report", "--config", str(program), "--out", str(tmp_path / "r.html")
                   ).exit_code == 0  # fmt: skip
    store = StateStore.open(f"sqlite:///{program / 'state.db'}")
    try:
        assert [r.id for r in store.last_runs(limit=100)] == before
        assert {r.id: r.version for r in store.iter_records("partner")} == versions
    finally:
        store.close()


def test_a_stored_record_that_no_longer_fits_the_model_is_counted_not_fatal(tmp_path):
    program = make_program(tmp_path, referrals=20)
    store = StateStore.open(f"sqlite:///{program / 'state.db'}")
    try:
        store.put_records("referral", [("ref_bad", {"id": "ref_bad", "referral_number": "REF-X",
                                                    "stage": "teleported"}, False)])  # fmt: skip
    finally:
        store.close()
    result = _invoke("report", "--config", str(program), "--out", str(tmp_path / "r.html"),
                     "--csv", str(tmp_path), "--threshold", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = _rows((tmp_path / "data_quality.csv").read_text(encoding="utf-8-sig"))
    assert {"problem": "unreadable canonical record", "item": "referral", "count": "1"} in rows
    summary = _rows((tmp_path / "summary.csv").read_text(encoding="utf-8-sig"))
    assert summary[0] == {"measure": "referrals", "value": "20"}


def test_a_threshold_below_the_cms_cell_size_warns_that_the_report_is_not_deidentified(tmp_path):
    program = make_program(tmp_path, referrals=20)
    args = ["report", "--config", str(program), "--out", str(tmp_path / "r.html")]
    low = _invoke(*args, "--threshold", "5")
    assert low.exit_code == 0, low.output
    assert "--threshold 5 shows counts below 11" in low.output
    assert "no longer de-identified" in low.output
    default = _invoke(*args)
    assert default.exit_code == 0 and "no longer de-identified" not in default.output


def test_the_attribution_window_comes_from_refsync_yaml_and_the_command_line_overrides_it(
    program: Path, tmp_path: Path
) -> None:
    from ruamel.yaml import YAML

    yaml = YAML()
    path = program / "refsync.yaml"
    original = path.read_text(encoding="utf-8")
    data = yaml.load(original)
    data["measures"] = {"attribution_days": 12}
    try:
        with path.open("w", encoding="utf-8") as fh:
            yaml.dump(data, fh)
        assert _invoke("report", "--config", str(program), "--out", str(tmp_path / "a.html")
                       ).exit_code == 0  # fmt: skip
        assert "within 12 days" in (tmp_path / "a.html").read_text(encoding="utf-8")
        again = _invoke("report", "--config", str(program), "--out", str(tmp_path / "b.html"),
                        "--attribution-days", "7")  # fmt: skip
        assert again.exit_code == 0, again.output
        assert "within 7 days" in (tmp_path / "b.html").read_text(encoding="utf-8")
    finally:
        path.write_text(original, encoding="utf-8")
