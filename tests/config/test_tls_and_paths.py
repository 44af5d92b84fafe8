"""Plain HTTP is refused unless declared, and paths stay inside the program (issue 16).

`host: http://api.hubapi.com` and an `http://` Salesforce `login_url` used to validate with
exit 0 (tokens in clear text); `../` and absolute paths for `mapping`, `definitions`,
`path` and `output_dir` were accepted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mapping.errors import ConfigurationError
from sync.cli import app
from sync.engine.runtime import open_program

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
    root = tmp_path / "prog"
    result = CliRunner().invoke(app, ["init", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for fixture in FIXTURE_MAPPINGS.glob("*.yaml"):
        if not (root / "mappings" / fixture.name).exists():
            shutil.copy(fixture, root / "mappings" / fixture.name)
    (root / "keys").mkdir()
    (root / "keys" / "sf.pem").write_text("not a real key\n", encoding="utf-8")
    return root


def problems_of(root: Path, env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        open_program(root, env=env)
    assert info.value.exit_code == 2
    return info.value.problems


def line_of(path: Path, text: str) -> int:
    return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if text in t)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- TLS -------------------------------------------------------------------------------------


def test_a_plain_http_hubspot_host_is_refused_at_its_line(program):
    (problem,) = problems_of(program, {**ENV, "HUBSPOT_HOST": "http://api.hubapi.com"})
    config = program / "refsync.yaml"
    assert problem.startswith(f"{config}:{line_of(config, 'host: ${HUBSPOT_HOST}')}:")
    assert "host uses plain http://" in problem and "insecure_http: true" in problem


@pytest.mark.parametrize("variable", ["SF_LOGIN_URL"])
def test_a_plain_http_salesforce_login_url_is_refused(program, variable):
    (problem,) = problems_of(program, {**ENV, variable: "http://login.salesforce.com"})
    assert "login_url uses plain http://" in problem


def test_a_plain_http_salesforce_instance_url_is_refused(program):
    config = program / "refsync.yaml"
    edit(
        config,
        "      auth: jwt ",
        "      instance_url: http://acme.my.salesforce.com\n      auth: jwt ",
    )
    (problem,) = problems_of(program, ENV)
    assert "instance_url uses plain http://" in problem


def test_insecure_http_declared_validates_and_warns_on_every_validate(program, monkeypatch):
    config = program / "refsync.yaml"
    env = {**ENV, "HUBSPOT_HOST": "http://127.0.0.1:8080", "HUBSPOT_INSECURE_HTTP": "true"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for _ in range(2):
        result = CliRunner().invoke(app, ["validate", "--config", str(program)])
        assert result.exit_code == 0, result.output
        (warning,) = [
            line
            for line in result.output.splitlines()
            if "warning:" in line and "plain http://" in line
        ]
        assert warning.startswith(f"{config}:{line_of(config, 'insecure_http: ')}:")
        assert "connection 'hubspot' allows plain http://" in warning


def test_https_hosts_carry_no_warning(program):
    assert open_program(program, env=ENV).warnings == ()


# -- path containment ------------------------------------------------------------------------


def test_a_mapping_outside_the_program_directory_is_refused_and_not_read(program, tmp_path):
    outside = tmp_path / "stolen.yaml"
    outside.write_text("version: 1\nnot: a mapping\n", encoding="utf-8")
    config = program / "refsync.yaml"
    edit(config, "mapping: mappings/hubspot.yaml", "mapping: ../stolen.yaml")
    (problem,) = problems_of(program, ENV)
    assert problem.startswith(f"{config}:{line_of(config, '../stolen.yaml')}:")
    assert "connection 'hubspot': mapping points outside the program directory" in problem
    assert "allow_paths_outside: true" in problem


def test_a_definitions_directory_outside_is_refused(program, tmp_path):
    (tmp_path / "defs").mkdir()
    config = program / "refsync.yaml"
    edit(config, "definitions: definitions", "definitions: ../defs")
    (problem,) = problems_of(program, ENV)
    assert "definitions points outside the program directory" in problem


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("path: exports/epic", "path: ../../exports", "settings.path"),
        ("output_dir: outputs", "output_dir: /tmp/refsync-worklists", "settings.output_dir"),
    ],
)
def test_scheduling_paths_that_escape_are_refused(program, old, new, key):
    config = program / "refsync.yaml"
    edit(config, old, new)
    (problem,) = problems_of(program, ENV)
    assert problem.startswith(f"{config}:{line_of(config, new)}:")
    assert f"connection 'epic': {key} points outside" in problem


def test_a_key_file_elsewhere_is_refused_unless_an_admin_allows_it(program, tmp_path):
    key = tmp_path / "elsewhere.pem"
    key.write_text("not a real key\n", encoding="utf-8")
    env = {**ENV, "SF_PRIVATE_KEY_FILE": str(key)}
    (problem,) = problems_of(program, env)
    assert "connection 'salesforce': settings.private_key_file points outside" in problem
    config = program / "refsync.yaml"
    config.write_text("allow_paths_outside: true\n" + config.read_text(encoding="utf-8"))
    loaded = open_program(program, env=env)
    assert Path(loaded.settings["salesforce"].private_key_file) == key


def test_a_symlink_out_of_the_program_directory_is_refused(program, tmp_path):
    (tmp_path / "shared-exports").mkdir()
    (program / "exports" / "epic").rmdir()
    (program / "exports" / "epic").symlink_to(tmp_path / "shared-exports")
    (problem,) = problems_of(program, ENV)
    assert "connection 'epic': settings.path points outside" in problem


def test_an_absolute_path_inside_the_program_directory_is_accepted(program):
    config = program / "refsync.yaml"
    edit(config, "output_dir: outputs", f"output_dir: {program / 'outputs'}")
    loaded = open_program(program, env=ENV)
    assert Path(loaded.settings["epic"].output_dir) == program.resolve() / "outputs"
