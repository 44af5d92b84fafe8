"""The secret scan has no bypass through half references or URLs (issue 16).

`access_token: "prefix-${VAR}-literal"` and credentials inside URLs
(`https://user:secret@...`, `?access_token=`) used to validate. Each is now a secret
problem at its line that never quotes the value.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_loader import ENV, FIXTURE, MODELS, edit

from config import load_program
from mapping.errors import SecretError

TOKEN_LINE = "access_token: ${CRM_TOKEN}"
URL_LINE = "instance_url: https://crm.example.org"


@pytest.fixture
def program_dir(tmp_path: Path) -> Path:
    root = tmp_path / "prog"
    shutil.copytree(FIXTURE, root)
    return root


def secret_problems(root: Path, env=ENV) -> list[str]:
    with pytest.raises(SecretError) as info:
        load_program(root, settings_models=MODELS, env=env)
    assert info.value.exit_code == 2
    return info.value.problems


def test_a_secret_field_mixing_a_reference_with_literal_text_is_refused(program_dir):
    edit(program_dir, "refsync.yaml", TOKEN_LINE, 'access_token: "hunter2-${CRM_TOKEN}-x9"')
    (problem,) = secret_problems(program_dir)
    assert problem.startswith(f"{program_dir / 'refsync.yaml'}:10:7: access_token mixes a")
    assert "write access_token: ${ACCESS_TOKEN} alone" in problem
    assert "hunter2" not in problem and "x9" not in problem


def test_a_secret_field_that_is_one_whole_reference_passes(program_dir):
    edit(program_dir, "refsync.yaml", TOKEN_LINE, 'access_token: " ${CRM_TOKEN} "')
    program = load_program(program_dir, settings_models=MODELS, env=ENV)
    assert program.settings["crm"].access_token.get_secret_value().strip() == "token-from-env"


@pytest.mark.parametrize(
    ("url", "what", "hidden"),
    [
        ("https://integration:s3cr3tPass@crm.example.org", "a password", "s3cr3tPass"),
        (
            "https://crm.example.org/?access_token=tok3nValue",
            "a secret in its access_token query",
            "tok3nValue",
        ),
        (
            "https://crm.example.org/x?region=us&api_key=k3yValue",
            "a secret in its api_key query",
            "k3yValue",
        ),
        ("https://crm.example.org/?apikey=k3yValue", "a secret in its apikey query", "k3yValue"),
    ],
)
def test_credentials_inside_a_url_are_refused_without_echoing_them(program_dir, url, what, hidden):
    edit(program_dir, "refsync.yaml", URL_LINE, f"instance_url: {url}")
    (problem,) = secret_problems(program_dir)
    assert problem.startswith(f"{program_dir / 'refsync.yaml'}:9:7: this URL carries {what}")
    assert hidden not in problem


def test_a_state_url_with_a_literal_password_is_refused(program_dir):
    edit(
        program_dir,
        "refsync.yaml",
        "timezone: America/Chicago\n",
        "timezone: America/Chicago\nstate:\n  url: postgresql://refsync:pgPassw0rd@db/refsync\n",
    )
    problems = secret_problems(program_dir)
    assert [p.split(": ", 1)[1].split(";")[0] for p in problems] == [
        "this URL carries a password (user:password@host)"
    ]
    assert "pgPassw0rd" not in problems[0]


def test_url_credentials_written_as_references_pass(program_dir):
    edit(
        program_dir,
        "refsync.yaml",
        URL_LINE,
        "instance_url: https://integration:${CRM_PASSWORD}@crm.example.org/?access_token=${CRM_TOKEN}",
    )
    program = load_program(program_dir, settings_models=MODELS, env={**ENV, "CRM_PASSWORD": "pw"})
    assert program.settings["crm"].instance_url.startswith("https://integration:pw@")


def test_a_url_with_a_user_name_only_or_harmless_query_passes(program_dir):
    edit(
        program_dir,
        "refsync.yaml",
        URL_LINE,
        "instance_url: https://integration@crm.example.org/?region=us&page=2",
    )
    load_program(program_dir, settings_models=MODELS, env=ENV)
