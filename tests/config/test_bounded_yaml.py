"""Hostile configuration files are refused before they cost anything (issue 16).

A YAML alias bomb used to hang `refsync validate` (ten alias lines: past 120 s at 415 MB);
a 16 MB definitions file took 173 s to reject. Both are now refused with file:line and the
name of the setting that raises the limit. The timeouts below are guards that turn a hang
into a failure; the tests assert behaviour, not durations.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_loader import ENV, FIXTURE, MODELS, problems_of

from config import load_program
from config.limits import YamlLimits, expansion_problem
from config.problems import Problems, load_yaml
from mapping.errors import ConfigurationError

BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


@pytest.fixture
def program_dir(tmp_path: Path) -> Path:
    root = tmp_path / "prog"
    shutil.copytree(FIXTURE, root)
    return root


@pytest.mark.timeout(30)
def test_a_billion_laughs_mapping_file_is_refused_with_its_line(program_dir):
    (program_dir / "mappings" / "crm.yaml").write_text(
        "version: 1\n" + BILLION_LAUGHS, encoding="utf-8"
    )
    problems = problems_of(program_dir)
    bombs = [p for p in problems if "aliases expand past 100,000 nodes" in p]
    assert len(bombs) == 1
    # line 6 (`e:`) holds the first alias whose expansion crosses 100,000 nodes
    assert bombs[0].startswith(f"{program_dir / 'mappings' / 'crm.yaml'}:6:1:")
    assert "REFSYNC_MAX_YAML_NODES" in bombs[0]


@pytest.mark.timeout(30)
def test_a_billion_laughs_refsync_yaml_is_refused_and_nothing_else_is_read(program_dir):
    config = program_dir / "refsync.yaml"
    config.write_text(config.read_text(encoding="utf-8") + BILLION_LAUGHS, encoding="utf-8")
    problems = problems_of(program_dir)
    assert len(problems) == 1
    assert "aliases expand past" in problems[0] and problems[0].startswith(f"{config}:")


def test_aliases_below_the_limit_are_expanded_as_usual(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text("base: &b {x: 1, y: 2}\none: *b\ntwo: *b\n", encoding="utf-8")
    problems = Problems()
    file = load_yaml(path, "small.yaml", problems)
    assert list(problems) == []
    assert file.doc["two"]["y"] == 2


def test_a_raised_node_limit_lets_a_big_expansion_through(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: [*a, *a, *a]\n", encoding="utf-8")
    refused = Problems()
    load_yaml(path, "big.yaml", refused, YamlLimits(max_nodes=30))
    assert [p.message.split(";")[0] for p in refused] == ["aliases expand past 30 nodes"]
    assert [p.line for p in refused] == [2]
    allowed = Problems()
    load_yaml(path, "big.yaml", allowed, YamlLimits(max_nodes=100))
    assert list(allowed) == []


def test_a_block_that_contains_itself_is_refused_not_walked_forever():
    loop: list[object] = [1]
    loop.append(loop)
    found = expansion_problem({"a": loop}, 100)
    assert found is not None and "refers to a block that contains it" in found[1]


def test_the_expansion_walk_visits_each_shared_block_once():
    shared = list(range(10))
    doc = {"x": [shared] * 1000}
    # 1 (doc) + 1 (list) + 11 (shared, once) + 999 aliases of 11 nodes
    assert expansion_problem(doc, 1 + 1 + 11 * 1000) is None
    assert expansion_problem(doc, 1 + 1 + 11 * 1000 - 1) is not None


@pytest.mark.timeout(30)
def test_a_one_gigabyte_definitions_file_is_refused_without_reading_it(program_dir):
    huge = program_dir / "definitions" / "huge.yaml"
    with huge.open("wb") as fh:
        fh.truncate(1024**3)  # sparse: costs no disk, reads as a gigabyte of NUL bytes
    problems = problems_of(program_dir)
    assert problems == [
        f"{program_dir / 'definitions' / 'huge.yaml'}:1:1: file is larger than 1 MiB, the "
        "limit for configuration files; split it, or set REFSYNC_MAX_CONFIG_BYTES (bytes) "
        "higher if it is meant to be this big"
    ]


@pytest.mark.timeout(60)
def test_a_sixteen_megabyte_definitions_file_is_refused_by_size(program_dir):
    big = program_dir / "definitions" / "big.yaml"
    big.write_text("id: big\nnotes: |\n" + "  lorem ipsum dolor sit amet\n" * 600_000)
    problems = problems_of(program_dir)
    assert len(problems) == 1 and "REFSYNC_MAX_CONFIG_BYTES" in problems[0]


def test_the_size_limit_is_raised_by_its_variable(program_dir):
    mapping = program_dir / "mappings" / "crm.yaml"
    padded = mapping.read_text(encoding="utf-8") + "# padding\n" * 120_000  # 1.2 MB
    mapping.write_text(padded, encoding="utf-8")
    assert any("REFSYNC_MAX_CONFIG_BYTES" in p for p in problems_of(program_dir))
    env = {**ENV, "REFSYNC_MAX_CONFIG_BYTES": str(4 * 1024 * 1024)}
    program = load_program(program_dir, settings_models=MODELS, env=env)
    assert "crm" in program.mappings


def test_deeply_nested_yaml_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 1000 + "]" * 1000 + "\n", encoding="utf-8")
    problems = Problems()
    assert load_yaml(path, "deep.yaml", problems).doc is None
    assert len(list(problems)) == 1


@pytest.mark.timeout(30)
def test_a_one_gigabyte_dot_env_is_refused_without_reading_it(program_dir):
    with (program_dir / ".env").open("wb") as fh:
        fh.truncate(1024**3)
    with pytest.raises(ConfigurationError) as info:
        load_program(program_dir, settings_models=MODELS, env=ENV)
    assert info.value.exit_code == 2
    assert ".env: file is larger than 1 MiB" in info.value.message
