"""Shared machinery of the local sandboxes: fault injection, inspection counters, serving.

Both sandboxes (Salesforce and HubSpot) use the same three pieces:

- :class:`FaultPlan` decides, call by call, whether to misbehave: fail every Nth call (or the
  next N calls) with a status, expire the session after N authenticated calls, report a row
  lock for chosen record keys, apply a write and then drop the connection without answering,
  add latency. Settable at construction and at run time (:meth:`FaultPlan.configure`).
- :class:`Stats` counts calls per endpoint, write calls, records written and faults fired.
- :class:`BackgroundServer` serves a WSGI app with Werkzeug in a daemon thread (optionally
  over TLS) and :func:`drop_connection` closes a client connection without an answer
  (both live in :mod:`connectors.sandbox.serving`; re-exported here).

Everything here is thread-safe: the servers are threaded and tests change plans mid-run.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.serving import BackgroundServer, ConnectionDropped, drop_connection

__all__ = [
    "BackgroundServer",
    "ConnectionDropped",
    "FaultPlan",
    "Stats",
    "StatsSnapshot",
    "drop_connection",
]

_PLAN_FIELDS = frozenset(
    {
        "fail_every",
        "fail_status",
        "fail_endpoints",
        "expire_session_after",
        "drop_after_write_every",
        "latency",
    }
)


class FaultPlan:
    """What a sandbox should get wrong, and when. All counters are per plan.

    Parameters (all optional; the default plan injects nothing):

    - ``fail_every`` / ``fail_status``: every Nth API call answers ``fail_status``
      (429, 500 or 503) with the vendor's body instead of doing the work.
    - ``fail_endpoints``: restrict failures to endpoints whose label contains one of these
      substrings (labels are what :class:`Stats` counts, e.g. ``"PATCH composite/sobjects"``).
    - ``expire_session_after``: a session serves N authenticated calls; the (N+1)th finds
      every live session/token invalidated (401); a fresh login works again and serves the
      next N, so a long run sees expiry every N served calls.
    - ``locked_keys``: record keys (id or external-id value) that answer a row-lock error;
      see :meth:`lock_rows` for a bounded number of times.
    - ``drop_after_write_every``: every Nth write call is applied and then the connection is
      closed without a response (the client sees a connection error, the data changed).
    - ``latency``: seconds to sleep before answering each call.

    One-shot helpers: :meth:`fail_next` and :meth:`drop_next_writes`.
    """

    def __init__(
        self,
        *,
        fail_every: int = 0,
        fail_status: int = 503,
        fail_endpoints: Iterable[str] | None = None,
        expire_session_after: int | None = None,
        locked_keys: Iterable[str] = (),
        drop_after_write_every: int = 0,
        latency: float = 0.0,
    ) -> None:
        self._lock = threading.RLock()
        self.clear()
        self.configure(
            fail_every=fail_every,
            fail_status=fail_status,
            fail_endpoints=fail_endpoints,
            expire_session_after=expire_session_after,
            drop_after_write_every=drop_after_write_every,
            latency=latency,
        )
        self.lock_rows(locked_keys)

    # -- configuration --------------------------------------------------------------------

    def configure(self, **changes: Any) -> None:
        """Change settings at run time (same names as the constructor except locked keys).

        Counters restart for the settings that changed, so "fail every 3rd call" counts from
        the moment it was set.
        """
        unknown = set(changes) - _PLAN_FIELDS
        if unknown:
            raise TypeError(f"unknown fault settings {sorted(unknown)}; use {sorted(_PLAN_FIELDS)}")
        with self._lock:
            for name, value in changes.items():
                if name == "fail_endpoints" and value is not None:
                    value = tuple(value)
                setattr(self, name, value)
            if "fail_every" in changes or "fail_endpoints" in changes:
                self._calls_seen = 0
            if "expire_session_after" in changes:
                self._auth_calls_seen = 0
            if "drop_after_write_every" in changes:
                self._writes_seen = 0

    def clear(self) -> None:
        """Back to the plan that injects nothing (counters restart)."""
        with self._lock:
            self.fail_every = 0
            self.fail_status = 503
            self.fail_endpoints: tuple[str, ...] | None = None
            self.expire_session_after: int | None = None
            self.drop_after_write_every = 0
            self.latency = 0.0
            self._calls_seen = 0
            self._auth_calls_seen = 0
            self._writes_seen = 0
            self._fail_next: list[int] = []
            self._drop_next = 0
            self._locked: dict[str, int | None] = {}

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Make the next ``count`` API calls (matching ``fail_endpoints``) answer ``status``."""
        with self._lock:
            self._fail_next.extend([status] * count)

    def drop_next_writes(self, count: int = 1) -> None:
        """Apply the next ``count`` write calls, then drop each connection unanswered."""
        with self._lock:
            self._drop_next += count

    def lock_rows(self, keys: Iterable[str], times: int | None = None) -> None:
        """Report a row lock for each key; ``times`` bounds how often (None: until unlocked)."""
        with self._lock:
            for key in keys:
                self._locked[str(key)] = times

    def unlock_rows(self, keys: Iterable[str] | None = None) -> None:
        """Release some (or, with None, all) locked keys."""
        with self._lock:
            if keys is None:
                self._locked.clear()
            for key in keys or ():
                self._locked.pop(str(key), None)

    # -- decisions (called by the servers) ------------------------------------------------

    def failure_for(self, endpoint: str) -> int | None:
        """Status to fail this call with, or None to serve it normally."""
        with self._lock:
            if self.fail_endpoints is not None and not any(
                part in endpoint for part in self.fail_endpoints
            ):
                return None
            if self._fail_next:
                return self._fail_next.pop(0)
            if self.fail_every > 0:
                self._calls_seen += 1
                if self._calls_seen % self.fail_every == 0:
                    return self.fail_status
            return None

    def session_expires_now(self) -> bool:
        """Count one authenticated call; True when sessions must be invalidated before it."""
        with self._lock:
            if not self.expire_session_after:
                return False
            self._auth_calls_seen += 1
            if self._auth_calls_seen > self.expire_session_after:
                self._auth_calls_seen = 0  # the refused call is not served; the window restarts
                return True
            return False

    def is_row_locked(self, *keys: Any) -> bool:
        """True if any of the record's keys is locked (consumes one of a bounded lock)."""
        with self._lock:
            for key in keys:
                if key is None or str(key) not in self._locked:
                    continue
                remaining = self._locked[str(key)]
                if remaining is not None:
                    if remaining <= 1:
                        del self._locked[str(key)]
                    else:
                        self._locked[str(key)] = remaining - 1
                return True
            return False

    def should_drop_after_write(self) -> bool:
        """Count one write call; True if its connection must be dropped after applying it."""
        with self._lock:
            if self._drop_next > 0:
                self._drop_next -= 1
                return True
            if self.drop_after_write_every > 0:
                self._writes_seen += 1
                return self._writes_seen % self.drop_after_write_every == 0
            return False

    def delay(self) -> None:
        """Sleep for the configured latency (outside the lock)."""
        seconds = self.latency
        if seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True)
class StatsSnapshot:
    """A consistent copy of the counters at one moment."""

    calls: dict[str, int] = field(default_factory=dict)
    write_calls: int = 0
    records_written: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


class Stats:
    """Thread-safe counters: calls per endpoint label, write calls, records written, faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._calls: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._write_calls = 0
            self._records_written = 0

    def record_call(self, endpoint: str) -> None:
        with self._lock:
            self._calls[endpoint] += 1

    def record_write(self, records: int) -> None:
        """One write call that changed ``records`` records (0 if all were rejected)."""
        with self._lock:
            self._write_calls += 1
            self._records_written += records

    def record_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                dict(self._calls), self._write_calls, self._records_written, dict(self._faults)
            )

    @property
    def calls(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    @property
    def total_calls(self) -> int:
        with self._lock:
            return sum(self._calls.values())

    @property
    def write_calls(self) -> int:
        with self._lock:
            return self._write_calls

    @property
    def records_written(self) -> int:
        with self._lock:
            return self._records_written

    @property
    def faults(self) -> dict[str, int]:
        with self._lock:
            return dict(self._faults)
