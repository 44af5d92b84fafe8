"""Time as HubSpot shows it: a settable clock, epoch milliseconds, and ISO-8601 strings.

HubSpot is written in Java and prints instants like ``java.time.Instant.toString()``: UTC with
a ``Z``, milliseconds only when they are not zero (``2019-10-30T03:30:17.883Z``,
``2024-01-01T00:00:00Z``).
"""

from __future__ import annotations

import functools
import threading
import time
from datetime import UTC, datetime

__all__ = ["Clock", "iso_ms", "parse_date_ms", "parse_instant_ms"]


class Clock:
    """Milliseconds since the epoch; real time unless :meth:`set_now` froze or moved it.

    A set clock keeps running from the set instant, and every reading is strictly greater
    than the previous one, so two writes never share a modification stamp by accident.
    Tests that want identical stamps call :meth:`freeze`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset_ms = 0
        self._frozen_ms: int | None = None
        self._last = 0

    def set_now(self, when: datetime, *, frozen: bool = False) -> None:
        target = int(when.timestamp() * 1000)
        with self._lock:
            self._offset_ms = target - int(time.time() * 1000)
            self._frozen_ms = target if frozen else None
            self._last = 0

    def freeze(self, when: datetime) -> None:
        self.set_now(when, frozen=True)

    def now_ms(self) -> int:
        with self._lock:
            if self._frozen_ms is not None:
                return self._frozen_ms
            now = int(time.time() * 1000) + self._offset_ms
            self._last = max(now, self._last + 1)
            return self._last


@functools.lru_cache(maxsize=65536)  # pages print the same few instants many times
def iso_ms(ms: int) -> str:
    """Epoch milliseconds as HubSpot prints an instant."""
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
    frac = ms % 1000
    return f"{base}.{frac:03d}Z" if frac else f"{base}Z"


def parse_instant_ms(value: str) -> int | None:
    """Epoch ms from ``"1704067200000"`` or an ISO-8601 instant; None if neither."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def parse_date_ms(value: str) -> int | None:
    """Epoch ms of a date-only value (``YYYY-MM-DD`` or midnight-UTC ms); None if invalid."""
    text = value.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)
        except ValueError:
            return None
    return parse_instant_ms(text)
