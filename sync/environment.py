"""Every ``REFSYNC_*`` environment variable refsync reads, typed, in one place.

:class:`RefsyncEnvironment` (pydantic-settings, prefix ``REFSYNC_``; an empty variable counts
as unset) is read afresh by :func:`refsync_environment` on each use, so a process that
changes its environment (``refsync worker`` publishing ``--config`` to its pool) and tests
that set variables see the change. Secrets (the state key) are ``SecretStr``.

Variables: ``REFSYNC_PROGRAM`` (program directory of worker processes),
``REFSYNC_STATE_URL`` (state store; wins over ``state.url`` of refsync.yaml),
``REFSYNC_BROKER_URL`` / ``REFSYNC_RESULT_URL`` / ``REFSYNC_QUEUE`` /
``REFSYNC_VISIBILITY_TIMEOUT`` (distributed runs), ``REFSYNC_STATE_KEY`` /
``REFSYNC_STATE_KEY_FILE`` (the state store's encryption key). Connection secrets named in
refsync.yaml (``${VAR}``) and a scheduling connection's patient key are the program's own,
read through :func:`config.secrets.environment`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_BROKER", "RefsyncEnvironment", "publish_program", "refsync_environment"]

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


class RefsyncEnvironment(BaseSettings):
    """The process environment as refsync reads it (see the module docstring)."""

    model_config = SettingsConfigDict(env_prefix="REFSYNC_", env_ignore_empty=True, extra="ignore")

    program: Path = Path(".")
    state_url: str | None = None
    broker_url: str = DEFAULT_BROKER
    result_url: str | None = None
    queue: str = "refsync"
    visibility_timeout: str | None = None  # checked against the lock TTL where it is used
    state_key: SecretStr | None = None
    state_key_file: Path | None = None

    def state_url_for(self, explicit: str | None, program_url: str) -> str:
        """The state store URL: ``--state``, else ``REFSYNC_STATE_URL``, else refsync.yaml."""
        return self.chosen_state_url(explicit) or program_url

    def chosen_state_url(self, explicit: str | None) -> str | None:
        """``--state`` or ``REFSYNC_STATE_URL``; None when refsync.yaml's ``state.url``
        decides (a caller that has not loaded the program yet)."""
        return explicit or self.state_url


def refsync_environment() -> RefsyncEnvironment:
    """The ``REFSYNC_*`` variables of this process, now."""
    return RefsyncEnvironment()


def publish_program(directory: Path) -> None:
    """Set ``REFSYNC_PROGRAM`` for the processes this one starts (a worker's pool)."""
    os.environ["REFSYNC_PROGRAM"] = str(directory.resolve())
