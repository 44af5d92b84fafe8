"""Configuration messages say what to fix: cron fields by name, tabs, no cascades."""

from __future__ import annotations

from test_loader import edit, problems_of, program_dir  # noqa: F401  (fixture)


def test_an_out_of_range_cron_hour_is_named_with_its_range(program_dir):  # noqa: F811
    edit(program_dir, "refsync.yaml", '"*/15 * * * *"', '"0 25 * * *"')
    text = "\n".join(problems_of(program_dir))
    assert "hour 25 is out of range; hour is 0-23" in text
    assert "five fields" not in text


def test_an_out_of_range_cron_minute_in_a_step_is_named(program_dir):  # noqa: F811
    edit(program_dir, "refsync.yaml", '"*/15 * * * *"', '"75 3 * * 1-5"')
    text = "\n".join(problems_of(program_dir))
    assert "minute 75 is out of range; minute is 0-59" in text


def test_a_cron_with_four_fields_says_how_many_it_has(program_dir):  # noqa: F811
    edit(program_dir, "refsync.yaml", '"*/15 * * * *"', '"*/15 * * *"')
    text = "\n".join(problems_of(program_dir))
    assert "it has 4 fields; cron needs five" in text


def test_a_tab_indented_line_is_told_to_indent_with_spaces(program_dir):  # noqa: F811
    path = program_dir / "refsync.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    # indent the first nested line with a tab instead of its spaces
    index = next(i for i, line in enumerate(lines) if line.startswith("  ") and line.strip())
    lines[index] = "\t" + lines[index].lstrip(" ")
    path.write_text("".join(lines), encoding="utf-8")
    found = problems_of(program_dir)
    assert any("indent with spaces" in p and f":{index + 1}:" in p for p in found), found


def test_one_bad_value_in_a_connection_is_one_problem_not_a_cascade_of_unknown_connections(
    program_dir,  # noqa: F811
):
    edit(program_dir, "refsync.yaml", "type: salesforce", "type: salesforce\n    privacy: nope")
    found = problems_of(program_dir)
    assert len(found) == 1, found
    assert "privacy" in found[0] and "unknown connection" not in found[0]
