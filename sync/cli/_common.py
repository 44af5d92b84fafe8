"""What every job command shares: open the program and the state store, map errors to exit
codes, print with rich, redact logs."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from mapping.errors import ConfigurationError, RefsyncError, exit_code_for

if TYPE_CHECKING:
    from config import Program
    from sync.engine import Engine
    from sync.environment import RefsyncEnvironment
    from sync.state import StateStore

# The engine, the state store (SQLAlchemy, Alembic) and the connectors are imported inside
# the functions that use them, so `refsync --help` and typos answer at once.

__all__ = ["console", "engine_for", "fail", "handle_errors", "setup_logging", "store_for"]

# Piped output (CI logs, scripts) gets wide lines rather than tables folded to 80 columns.
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 240)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def setup_logging(log_json: bool, verbose: bool = False) -> None:
    """Logging through the redaction filter; secrets are added once the program is loaded."""
    from sync.logs import configure_logging

    configure_logging(json_lines=log_json, verbose=verbose)


def _register_secrets(program: Any) -> None:
    from sync.logs import RedactingFilter, secrets_of

    for handler in logging.getLogger().handlers:
        for flt in handler.filters:
            if isinstance(flt, RedactingFilter):
                for secret in secrets_of(program.settings.values()):
                    flt.redactor.add_secret(secret)


def fail(exc: BaseException) -> typer.Exit:
    """Print ``exc`` for a human and return the exit that matches its type."""
    if isinstance(exc, ConfigurationError) and exc.problems:
        for problem in exc.problems:
            err_console.print(problem)
    err_console.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(exit_code_for(exc))


def refsync_environment() -> RefsyncEnvironment:
    """The ``REFSYNC_*`` variables, typed (imported on use: ``--help`` never loads
    pydantic-settings)."""
    from sync.environment import refsync_environment as read

    return read()


@contextmanager
def engine_for(config: Path, state: str | None, **kwargs: Any) -> Iterator[Engine]:
    """An engine for the program in ``config``; closes connectors and the store after."""
    from sync.engine import Engine, Runtime, open_program
    from sync.state import StateStore

    program = open_program(config)
    _register_secrets(program)
    url = refsync_environment().state_url_for(state, program.state_url)
    store = StateStore.open(url)
    runtime = Runtime(program)
    try:
        yield Engine(runtime, store, **kwargs)
    finally:
        runtime.close()
        store.close()


@contextmanager
def store_for(config: Path, state: str | None) -> Iterator[tuple[StateStore, Program]]:
    """The program and its state store, for commands that only read the state (status,
    errors, history). Connection settings are resolved but not checked against their
    connectors, so a broken setting does not hide the runs (each type's privacy declaration
    still classes the mappings' fields as ``validate`` does).
    """
    from sync.engine.declared import load_declared
    from sync.state import StateStore

    program = load_declared(config, check_settings=False)
    url = refsync_environment().state_url_for(state, program.state_url)
    store = StateStore.open(url)
    try:
        yield store, program
    finally:
        store.close()


@contextmanager
def handle_errors() -> Iterator[None]:
    try:
        yield
    except typer.Exit:
        raise
    except RefsyncError as exc:
        raise fail(exc) from None
