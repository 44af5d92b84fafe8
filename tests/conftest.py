"""Shared fixtures: real services (PostgreSQL, Redis) when present.

Without a service the tests that need it skip with a reason; with
``REFSYNC_REQUIRE_SERVICES=1`` (set by ``.ci/run``) a missing service fails them instead.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# Property tests check behaviour, not speed: on a loaded 2-core machine an example may take
# far longer than Hypothesis' default 200 ms deadline (imports, I/O, other engineers' tests),
# and generating data may trip the too_slow health check. Neither says anything about refsync.
settings.register_profile("refsync", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("refsync")


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A CLI command run through CliRunner points the root logger at that invocation's
    stderr (``configure_logging``), which is closed once it returns; a later test's log
    line would then print "--- Logging error ---" into its own captured output."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


PG_BASE_URL = os.environ.get(
    "REFSYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("REFSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _require_services() -> bool:
    return os.environ.get("REFSYNC_REQUIRE_SERVICES") == "1"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _unavailable(what: str) -> None:
    msg = f"{what} is not reachable; start it (see DEVELOPERS.md, Services)"
    if _require_services():
        pytest.fail(f"REFSYNC_REQUIRE_SERVICES=1 but {msg}")
    pytest.skip(msg)


# A fixed state key for shared databases (PostgreSQL has no key file beside it); workers
# started by a test inherit it.
PG_STATE_KEY = "3q2N0rW0m3G1u9m8Zf3kq7cY6v0d9b7d7zvZ2v6oS2w="


@pytest.fixture
def pg_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL schema for this test (dropped afterwards)."""
    if not os.environ.get("REFSYNC_STATE_KEY"):
        monkeypatch.setenv("REFSYNC_STATE_KEY", PG_STATE_KEY)
    if not _port_open("127.0.0.1", 5432):
        _unavailable("PostgreSQL at 127.0.0.1:5432")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_BASE_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def redis_url() -> str:
    if not _port_open("127.0.0.1", 6379):
        _unavailable("Redis at 127.0.0.1:6379")
    return REDIS_URL
