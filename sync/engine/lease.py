"""Keeping a run's job lock alive from a thread: a dead worker's lock lapses in one lease.

The job lock (``sync/state/_locks.py``) expires unless its holder heartbeats. Heartbeats on
progress alone (after each page or batch) need a lock TTL longer than the slowest page, so
a worker that died on another machine held its job for up to that TTL (600 s). With a
shared PostgreSQL state the lock is instead taken for a short *lease* (60 s) that a
:class:`LeaseKeeper` thread renews every quarter lease: a dead worker's lock lapses within
one lease and another machine's run takes it over.

The TTL keeps its meaning as the longest a run may go without progress: the keeper stops
renewing once no page or batch finished for ``progress_ttl`` seconds, so a hung (not dead)
run loses its lock after TTL + lease instead of holding it forever. A run that finds its
lock taken (its heartbeat raises :class:`~mapping.errors.LockHeld`) stops at its next page.

With SQLite (one machine; the pid check already frees a dead process's lock at once) the
lease is the TTL and no thread runs: SQLite allows one writer, and a heartbeat waiting on a
long merge transaction would gain nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from mapping.errors import LockHeld, RefsyncError

__all__ = ["DEFAULT_LEASE_SECONDS", "LeaseKeeper"]

DEFAULT_LEASE_SECONDS = 60

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews a lock every ``lease_seconds / 4`` while the run makes progress.

    ``beat`` renews the lock (raises LockHeld when the run lost it); ``progressed`` is
    called by the run after each page or batch; ``monotonic`` is injectable for tests,
    which drive :meth:`tick` directly.
    """

    def __init__(
        self,
        beat: Callable[[], None],
        *,
        lease_seconds: float,
        progress_ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.every = lease_seconds / 4
        self._beat = beat
        self._progress_ttl = progress_ttl_seconds
        self._monotonic = monotonic
        self._last = monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.beats = 0
        self.lost = False
        self.stalled = False

    def progressed(self) -> None:
        """The run finished a page or batch."""
        self._last = self._monotonic()

    def tick(self) -> bool:
        """One renewal (skipped while the run is stalled); False once the lock is lost."""
        idle = self._monotonic() - self._last
        if idle > self._progress_ttl:
            if not self.stalled:
                log.warning(
                    "no progress for %.0f s (the lock TTL): the job lock is no longer renewed "
                    "and lapses, so another run can take the job over",
                    idle,
                )
            self.stalled = True
            return True
        self.stalled = False
        try:
            self._beat()
        except LockHeld as exc:
            self.lost = True
            log.error("%s", exc.message)
            return False
        except RefsyncError as exc:  # a state database hiccup: the next tick tries again
            log.warning("could not renew the job lock (%s); trying again", exc.message)
            return True
        self.beats += 1
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="lock-lease", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            if not self.tick():
                return
