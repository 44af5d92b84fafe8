"""The installed distribution is this repository, and its layers point the right way."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("package", ["mapping", "connectors", "config", "sync"])
def test_each_top_level_package_imports_from_this_repository(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == REPO / package


def test_import_layers_point_down_only() -> None:
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is part of the test extra; install with pip install -e '.[test]'"
    result = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_mapping_and_checked_everywhere_else_finds_nothing() -> None:
    # strict on mapping/ (pyproject's override); the other packages with mypy's defaults
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "mapping", "sync", "connectors", "config"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_console_script_shows_help() -> None:
    exe = shutil.which("refsync")
    assert exe, "pip install -e . installs the refsync console script"
    result = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "refsync" in result.stdout
