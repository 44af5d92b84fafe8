"""The core names no connector type: what differs per type is declared by its connector
(settings roles, capabilities, dialect, privacy) and reaches mapping/, config/ and sync/ as
data through the registry. The import contracts (pyproject) keep the packages apart; this
keeps the type names out of their logic, where an import contract cannot see them."""

from __future__ import annotations

import ast
from pathlib import Path

from connectors.registry import connector_types

ROOT = Path(__file__).resolve().parent.parent

ALLOWED = {
    # The demo program's and the bundled sandboxes' own connection and folder names: these
    # commands drive the Salesforce and HubSpot sandboxes shipped with refsync by name.
    "sync/demo.py": {"salesforce", "hubspot"},
    "sync/cli/cmd_sandbox.py": {"salesforce", "hubspot"},
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            found.add(id(first.value))
    return found


def _type_literals(path: Path, names: set[str]) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in names
        and id(node) not in skip
    ]


def test_no_module_of_mapping_config_or_sync_names_a_connector_type_in_its_logic() -> None:
    names = set(connector_types())
    assert {"scheduling", "salesforce", "hubspot", "warehouse"} <= names
    found = []
    for package in ("mapping", "config", "sync"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            allowed = ALLOWED.get(relative, set())
            found += [
                f"{relative}:{line}: {value!r}"
                for line, value in _type_literals(path, names)
                if value not in allowed
            ]
    assert found == []


def test_the_scan_sees_a_type_compared_in_code_but_not_one_named_in_a_docstring(
    tmp_path: Path,
) -> None:
    module = tmp_path / "probe.py"
    module.write_text(
        '"""Reads scheduling exports."""\n'
        "def f(conn):\n"
        '    """For "scheduling" connections."""\n'
        '    return conn.type == "scheduling"\n'
    )
    assert _type_literals(module, {"scheduling"}) == [(4, "scheduling")]
