"""The report opens in a real headless browser (Debian's chromium + chromedriver, through
selenium): no console error, nothing fetched from the network, every chart drawn, the
scorecard sorts. A screenshot is saved in the test's tmp dir for a person to look at.

Skips with a reason when chromium is absent; fails instead with REFSYNC_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app
from sync.insights.html import CHARTS
from tests.sync.report_support import AS_OF, make_program

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _need_browser() -> None:
    if CHROMIUM and DRIVER:
        return
    msg = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("REFSYNC_REQUIRE_SERVICES") == "1":
        pytest.fail(f"REFSYNC_REQUIRE_SERVICES=1 but {msg}")
    pytest.skip(msg)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    program = make_program(root)
    out = root / "report.html"
    result = CliRunner().invoke(
        app, ["report", "--config", str(program), "--out", str(out), "--as-of", AS_OF.isoformat()]
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _open(browser, report: Path) -> None:
    browser.get(report.as_uri())
    browser.execute_script("return document.readyState")
    browser.implicitly_wait(5)


def test_the_report_opens_offline_without_console_errors_and_draws_every_chart(
    browser, report, tmp_path
):
    _open(browser, report)
    for name in CHARTS:
        chart = browser.find_element("id", f"chart-{name}")
        svgs = chart.find_elements("css selector", "svg.main-svg")
        traces = chart.find_elements("css selector", "g.trace")
        marks = chart.find_elements("css selector", "g.trace path")
        assert svgs and traces and marks, f"chart {name} was not drawn"
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert fetched == []
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 40, 6000))
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000


def test_the_scorecard_sorts_by_leakage_when_its_header_is_clicked(browser, report):
    _open(browser, report)
    table = browser.find_element("id", "table-scorecard")
    headers = [th.get_attribute("data-col") for th in table.find_elements("css selector", "th")]
    column = headers.index("leakage_rate")
    table.find_elements("css selector", "th")[column].click()

    def leakage() -> list[float]:
        rows = table.find_elements("css selector", "tbody tr")
        return [float(r.find_elements("css selector", "td")[column].get_attribute("data-v"))
                for r in rows]  # fmt: skip

    first = leakage()
    assert first == sorted(first, reverse=True) and first[0] > first[-1]
    table.find_elements("css selector", "th")[column].click()
    assert leakage() == sorted(first)


def test_the_report_of_a_program_without_data_opens_cleanly_too(browser, tmp_path):
    from config import write_program

    write_program(tmp_path / "empty")
    out = tmp_path / "empty.html"
    result = CliRunner().invoke(app, ["report", "--config", str(tmp_path / "empty"),
                                      "--out", str(out), "--as-of", AS_OF.isoformat()])  # fmt: skip
    assert result.exit_code == 0, result.output
    _open(browser, out)
    for name in CHARTS:
        assert browser.find_element("id", f"chart-{name}").find_elements(
            "css selector", "svg.main-svg"
        ), f"chart {name} has no drawing surface"
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")] == []
