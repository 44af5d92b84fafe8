"""Every REFSYNC_* variable is read, typed, in one place (sync.environment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.distributed import make_celery
from sync.environment import DEFAULT_BROKER, publish_program, refsync_environment


def test_unset_and_empty_variables_take_the_documented_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("STATE_URL", "BROKER_URL", "RESULT_URL", "QUEUE", "STATE_KEY"):
        monkeypatch.delenv(f"REFSYNC_{name}", raising=False)
    monkeypatch.setenv("REFSYNC_STATE_URL", "")  # empty counts as unset
    env = refsync_environment()
    assert env.state_url is None and env.state_key is None
    assert env.broker_url == DEFAULT_BROKER and env.queue == "refsync"
    assert env.state_url_for(None, "sqlite:///program.db") == "sqlite:///program.db"


def test_the_state_url_is_the_flag_then_the_variable_then_the_program(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REFSYNC_STATE_URL", "postgresql://from-env/x")
    env = refsync_environment()
    assert env.state_url_for("sqlite:///flag.db", "sqlite:///yaml.db") == "sqlite:///flag.db"
    assert env.state_url_for(None, "sqlite:///yaml.db") == "postgresql://from-env/x"


def test_the_state_key_is_a_secret_that_never_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFSYNC_STATE_KEY", "k3y-material")
    env = refsync_environment()
    assert env.state_key is not None and env.state_key.get_secret_value() == "k3y-material"
    assert "k3y-material" not in repr(env) and "k3y-material" not in str(env)


def test_celery_takes_broker_results_and_queue_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REFSYNC_BROKER_URL", "redis://127.0.0.1:6379/5")
    monkeypatch.delenv("REFSYNC_RESULT_URL", raising=False)
    monkeypatch.setenv("REFSYNC_QUEUE", "program-a")
    app = make_celery()
    assert app.conf.broker_url == "redis://127.0.0.1:6379/5"
    assert app.conf.result_backend == "redis://127.0.0.1:6379/5"  # the broker, by default
    assert app.conf.task_default_queue == "program-a"


def test_a_published_program_is_what_the_next_read_sees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REFSYNC_PROGRAM", raising=False)
    assert refsync_environment().program == Path(".")
    publish_program(tmp_path / "prog")
    assert refsync_environment().program == (tmp_path / "prog").resolve()
    monkeypatch.delenv("REFSYNC_PROGRAM")


def test_the_state_keys_are_read_through_the_typed_environment_not_os_environ(
    tmp_path: Path,
) -> None:
    from sync.environment import RefsyncEnvironment
    from sync.state import load_keys, new_key

    first, second = new_key(), new_key()
    env = RefsyncEnvironment.model_validate({"state_key": f"{first}, {second}"})
    assert load_keys("postgresql+psycopg://u@db/refsync", env) == [first, second]
    key_file = tmp_path / "keys"
    key_file.write_text(f"{second}\n", encoding="ascii")
    env = RefsyncEnvironment.model_validate({"state_key": None, "state_key_file": key_file})
    assert load_keys("postgresql+psycopg://u@db/refsync", env) == [second]
