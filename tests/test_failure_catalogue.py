"""The README's failure-catalogue table cannot go stale.

Every case id of the catalogue's quick index (``docs/crm-sync-failure-modes.md``) has a row
in the README section "Failure catalogue"; every row names at least one test or says why
the case does not apply; every test named exists and names the case id in its name or
docstring.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CATALOGUE = REPO / "docs" / "crm-sync-failure-modes.md"
README = REPO / "README.md"
_ROW = re.compile(r"^\| ([A-Z]\d+) \|", re.MULTILINE)
_TEST = re.compile(r"`(tests/[\w/.]+\.py)::(\w+)`")


def _catalogue_ids() -> list[str]:
    text = CATALOGUE.read_text(encoding="utf-8")
    index = text[text.index("## Appendix 2") :]
    return _ROW.findall(index)


def _readme_rows() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Failure catalogue\n")
    end = text.index("\n## ", start + 1)
    rows: dict[str, str] = {}
    for line in text[start:end].splitlines():
        match = _ROW.match(line)
        if match:
            assert match.group(1) not in rows, f"case {match.group(1)} has two README rows"
            rows[match.group(1)] = line
    return rows


def _functions(path: Path) -> dict[str, str]:
    """Test function name -> its docstring ("" when none), module-level and in classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name: ast.get_docstring(node) or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def test_the_catalogue_index_lists_forty_cases_a_to_l() -> None:
    ids = _catalogue_ids()
    assert len(ids) == len(set(ids)) == 40
    assert {i[0] for i in ids} == set("ABCDEFGHIJKL")


def test_every_catalogue_case_has_a_row_in_the_readme_and_no_row_is_invented() -> None:
    assert sorted(_readme_rows()) == sorted(_catalogue_ids())


@pytest.mark.parametrize("case", _catalogue_ids())
def test_each_row_names_existing_tests_that_name_its_case(case: str) -> None:
    row = _readme_rows()[case]
    tests = _TEST.findall(row)
    if not tests:
        assert "does not apply" in row.lower(), f"{case}: no test and no reason it does not apply"
        return
    for file, name in tests:
        path = REPO / file
        assert path.is_file(), f"{case}: {file} does not exist"
        functions = _functions(path)
        assert name in functions, f"{case}: {file} has no test {name}"
        named = f"_{case.lower()}_" in f"_{name}_"
        documented = re.search(rf"\b{case}\b", functions[name]) is not None
        assert named or documented, f"{case}: {file}::{name} does not name {case}"
