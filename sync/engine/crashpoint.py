"""A test hook: SIGKILL this process at an exact point of a run (``REFSYNC_CRASH_AT``).

Crash tests (``tests/sync/crash.py``, ``bench/crash_consistency.py``) used to kill a run
after some seconds or once the sandboxes saw some write calls; on a loaded machine a time
point could land anywhere (often before the first write). With ``REFSYNC_CRASH_AT`` set,
the run kills itself where the value says, so every kill point is where it claims to be:

- ``phase:<name>`` at a phase boundary, before the phase starts: ``read``, ``derive``,
  ``write``, ``bookmarks`` (every write done, no bookmark committed yet) or ``outputs``;
- ``read:<n>`` once ``n`` records were read and merged (committed), over every source;
- ``write:<n>`` once ``n`` records were written and recorded in the write ledger, over
  every destination.

Unset (always, outside tests), nothing is checked. A malformed value is a configuration
error (exit 2) before anything runs.
"""

from __future__ import annotations

import os
import signal
import threading

from mapping.errors import ConfigurationError

__all__ = ["ENV", "PHASES", "CrashPoint", "crash_point_from_env"]

ENV = "REFSYNC_CRASH_AT"
PHASES = ("read", "derive", "write", "bookmarks", "outputs")


class CrashPoint:
    """Where to die; :meth:`boundary` and :meth:`records` are called by the engine."""

    def __init__(self, spec: str) -> None:
        kind, _, value = spec.partition(":")
        self.phase: str | None = None
        self.counted: str | None = None
        self.after = 0
        if kind == "phase" and value in PHASES:
            self.phase = value
        elif kind in ("read", "write") and value.isdigit() and int(value) > 0:
            self.counted, self.after = kind, int(value)
        else:
            raise ConfigurationError(
                f"{ENV}={spec!r} is not a crash point; use phase:<{'|'.join(PHASES)}>, "
                "read:<records> or write:<records>"
            )
        self._seen = 0
        self._lock = threading.Lock()

    def boundary(self, phase: str) -> None:
        """A phase is about to start."""
        if phase == self.phase:
            _die()

    def records(self, phase: str, count: int) -> None:
        """``count`` more records of ``phase`` (``"read ..."``, ``"write ..."``) are done."""
        if self.counted is None or not phase.startswith(f"{self.counted} "):
            return
        with self._lock:
            self._seen += count
            if self._seen >= self.after:
                _die()


def crash_point_from_env() -> CrashPoint | None:
    spec = os.environ.get(ENV)
    return CrashPoint(spec) if spec else None


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
