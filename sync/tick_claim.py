"""A cron tick claimed in Redis: ``(state store, job, tick)`` is absent, held by a task, or done.

See :mod:`sync.distributed` for why ticks are claimed in Redis (an atomic ``SET NX``) and how
a claim lets the redelivery of a dead task run its tick while every other copy is skipped.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import redis

from mapping.errors import ConfigurationError, StateError

__all__ = ["CLAIM_HOLD_SECONDS", "CONNECT_TIMEOUT", "TickClaim"]

CLAIM_HOLD_SECONDS = 120
"""TTL of a running task's claim; refreshed every third of it while the task lives."""
CONNECT_TIMEOUT = 5
"""Seconds to connect to Redis (broker, results, claims) before giving up."""
_DONE_SECONDS = 7 * 24 * 3600  # a finished tick: far longer than any copy of its task lives
_DONE = "done"


# Refresh the claim's TTL only while it is still this task's (never a ``done`` or another's).
_REFRESH = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], ARGV[2])
end
return 0
"""


class TickClaim:
    """``(state store, job, tick)`` claimed in Redis: absent, held by a task id, or done.

    A claim held by a task id means that task is running the tick; it expires
    :data:`CLAIM_HOLD_SECONDS` after the task stopped refreshing it (it died), so a copy
    may take it then. A redelivery of that very message (same id) may take it at once.
    ``done`` is final. ``attempts`` counts the deliveries that took the claim.
    """

    def __init__(self, redis_url: str, store_url: str, job: str, tick: str) -> None:
        self.client = _redis(redis_url)
        # The store's (redacted) URL scopes the claim: two programs with a job of the same
        # name, or two PostgreSQL schemas, never share ticks. Hashed: no URL in Redis keys.
        store = hashlib.sha256(store_url.encode()).hexdigest()[:16]
        self.tick = _utc(tick)
        self.key = f"refsync:tick:{store}:{job}:{self.tick}"
        self.fresh = False
        self.attempts = 0
        self.task_id = ""

    def take(self, task_id: str, *, count: bool = True) -> bool:
        """True if ``task_id`` now holds the tick (newly claimed, or redelivered to it).

        ``count``: this is a delivery, not a retry of one (retries wait on a lock; they
        are not deaths).
        """
        with _redis_errors():
            self.task_id = task_id
            held = self.client.set(self.key, task_id, nx=True, ex=CLAIM_HOLD_SECONDS)
            self.fresh = bool(held)
            if not self.fresh and self.client.get(self.key) != task_id.encode():
                return False
            if count:
                self.attempts = int(self.client.incr(f"{self.key}:attempts"))
                self.client.expire(f"{self.key}:attempts", _DONE_SECONDS)
            return True

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep the claim alive while the body runs; a killed process stops refreshing it."""
        stop = threading.Event()
        refresh = self.client.register_script(_REFRESH)

        def keep() -> None:
            while not stop.wait(CLAIM_HOLD_SECONDS / 3):
                try:
                    refresh(keys=[self.key], args=[self.task_id, CLAIM_HOLD_SECONDS])
                except redis.RedisError:
                    continue  # Redis away for a moment: the next refresh may succeed

        thread = threading.Thread(target=keep, name="refsync-tick-claim", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def finish(self) -> None:
        """The tick ran (whatever its outcome): no copy of any task runs it again."""
        with _redis_errors():
            self.client.set(self.key, _DONE, ex=_DONE_SECONDS)

    def release(self) -> None:
        """The tick did not run (the job was locked): a later copy may run it.

        Only a claim this task created is dropped; a redelivered copy that met the lock
        is the original still running, whose claim must stay.
        """
        if self.fresh:
            with _redis_errors():
                self.client.delete(self.key, f"{self.key}:attempts")


def _utc(tick: str) -> str:
    """The tick as UTC text: one instant is one key whatever offset a beat wrote it with."""
    try:
        when = datetime.fromisoformat(tick)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ConfigurationError(
            f"task tick {tick!r} is not an ISO-8601 time with an offset; send tasks with "
            "`refsync beat`, or leave the tick out"
        )
    return when.astimezone(UTC).isoformat()


@functools.cache
def _redis(url: str) -> redis.Redis:
    # One pool per process; redis-py resets a pool inherited across fork (prefork workers).
    try:
        return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=CONNECT_TIMEOUT)
    except ValueError as exc:
        raise ConfigurationError(
            f"the broker URL is not a Redis URL ({exc}); set REFSYNC_BROKER_URL to "
            "redis://HOST:6379/DB -- tick claims live in Redis"
        ) from exc


@contextmanager
def _redis_errors() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise StateError(
            f"could not claim the tick in Redis ({type(exc).__name__}); check that Redis at "
            "REFSYNC_BROKER_URL is up"
        ) from exc
