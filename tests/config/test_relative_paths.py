"""A relative, ``.``, absolute or symlinked ``--config`` gives the same absolute paths (issue 11).

Paths used to be joined to the program directory by the loader and again by the runtime:
``refsync plan JOB --config myprogram`` looked for ``myprogram/myprogram/exports/epic``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app
from sync.engine.runtime import default_factory, open_program

FIXTURE_MAPPINGS = Path(__file__).parent / "fixtures" / "mappings"

ENV = {
    "SF_LOGIN_URL": "https://login.example.test",
    "SF_CLIENT_ID": "client",
    "SF_USERNAME": "integration@example.test",
    "SF_PRIVATE_KEY_FILE": "keys/sf.pem",
    "HUBSPOT_ACCESS_TOKEN": "pat-test",
    "HUBSPOT_HOST": "https://api.example.test",
}


@pytest.fixture
def program(tmp_path: Path) -> Path:
    root = tmp_path / "myprogram"
    result = CliRunner().invoke(app, ["init", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for fixture in FIXTURE_MAPPINGS.glob("*.yaml"):  # templates not shipped yet
        if not (root / "mappings" / fixture.name).exists():
            shutil.copy(fixture, root / "mappings" / fixture.name)
    (root / "keys").mkdir()
    (root / "keys" / "sf.pem").write_text("not a real key\n", encoding="utf-8")
    return root


def _spellings(program: Path, monkeypatch) -> list[tuple[Path, str]]:
    link = program.parent / "linked"
    link.symlink_to(program, target_is_directory=True)
    return [
        (program, "."),
        (program.parent, "myprogram"),
        (program.parent, "./myprogram/"),
        (Path("/"), str(program)),
        (program.parent, "linked"),
        (program / "exports", ".."),
    ]


def _check(loaded, root: Path) -> None:
    assert loaded.root == root
    epic = loaded.settings["epic"]
    assert Path(epic.path) == root / "exports" / "epic"
    assert Path(epic.output_dir) == root / "outputs"
    assert Path(loaded.settings["salesforce"].private_key_file) == root / "keys" / "sf.pem"
    assert loaded.state_url == f"sqlite:///{root / 'state.db'}"
    # The runtime builds connectors from these settings without joining them again.
    built = default_factory("epic", loaded)
    try:
        assert Path(built.settings.path) == root / "exports" / "epic"
        assert Path(built.settings.output_dir) == root / "outputs"
    finally:
        built.close()


def test_every_spelling_of_the_program_directory_gives_the_same_absolute_paths(
    program, monkeypatch
):
    root = program.resolve()
    for cwd, config in _spellings(program, monkeypatch):
        monkeypatch.chdir(cwd)
        _check(open_program(config, env=ENV), root)


def test_an_absolute_path_setting_is_kept_as_it_is(program, monkeypatch, tmp_path):
    elsewhere = tmp_path / "keys-elsewhere" / "sf.pem"
    elsewhere.parent.mkdir()
    elsewhere.write_text("not a real key\n", encoding="utf-8")
    monkeypatch.chdir(program.parent)
    config = program / "refsync.yaml"
    config.write_text("allow_paths_outside: true\n" + config.read_text(encoding="utf-8"))
    loaded = open_program("myprogram", env={**ENV, "SF_PRIVATE_KEY_FILE": str(elsewhere)})
    assert Path(loaded.settings["salesforce"].private_key_file) == elsewhere


def test_validate_with_a_relative_config_exits_zero(program, monkeypatch):
    monkeypatch.chdir(program.parent)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["validate", "--config", "myprogram"])
    assert result.exit_code == 0, result.output
    assert "myprogram/myprogram" not in result.output
