"""Client-side rate limiting: stay under HubSpot's windows instead of bouncing off them.

HubSpot allows a burst budget per rolling 10 seconds (100-250 calls by tier, reported in the
``X-HubSpot-RateLimit-*`` headers) and, separately, about 5 CRM search calls per second
(search responses carry no rate-limit headers). :class:`RateLimiter` keeps a rolling window
of our own call times per bucket and waits before a call that would exceed the budget; the
headers of each answer tighten the budget (another app or process may share the account).

Clock and sleep are injectable so tests never wait on wall time unless they want to.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["BURST", "SEARCH", "RateLimiter", "WindowBudget"]

BURST = "burst"
SEARCH = "search"


@dataclass(frozen=True, slots=True)
class WindowBudget:
    calls: int
    seconds: float


class RateLimiter:
    """Rolling-window limiter with one bucket per HubSpot policy (burst, search).

    ``acquire(bucket)`` blocks (through ``sleep``) until a call fits the bucket's window,
    then records it. ``observe(headers)`` feeds ``X-HubSpot-RateLimit-Max/Remaining/
    Interval-Milliseconds``: when HubSpot says fewer calls remain than we think, we wait for
    the window to roll over before the next call.
    """

    def __init__(
        self,
        *,
        ten_second_budget: int = 190,
        search_per_second: int = 4,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._configured = ten_second_budget
        self._budgets = {
            BURST: WindowBudget(ten_second_budget, 10.0),
            SEARCH: WindowBudget(search_per_second, 1.0),
        }
        self._calls: dict[str, deque[float]] = {BURST: deque(), SEARCH: deque()}
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._blocked_until = 0.0
        self.waited_seconds = 0.0

    def acquire(self, bucket: str = BURST) -> None:
        """Wait until one more call fits ``bucket``'s window, then count it."""
        while True:
            with self._lock:
                wait = self._wait_needed(bucket)
                if wait <= 0:
                    self._calls[bucket].append(self._clock())
                    return
            self.waited_seconds += wait
            self._sleep(wait)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Adopt the burst window HubSpot reports (never above the configured budget)."""
        lower = {str(k).lower(): v for k, v in headers.items()}
        remaining = _int(lower.get("x-hubspot-ratelimit-remaining"))
        maximum = _int(lower.get("x-hubspot-ratelimit-max"))
        interval_ms = _int(lower.get("x-hubspot-ratelimit-interval-milliseconds"))
        with self._lock:
            budget = self._budgets[BURST]
            seconds = interval_ms / 1000.0 if interval_ms else budget.seconds
            calls = min(self._configured, maximum) if maximum else budget.calls
            if (calls, seconds) != (budget.calls, budget.seconds):
                self._budgets[BURST] = WindowBudget(calls, seconds)
            if remaining is not None and remaining <= 1:
                # HubSpot counts calls we do not see (other apps, other processes): pause new
                # calls until a slot frees. The window's oldest call is no newer than our own
                # oldest, so a slot is free once ours has rolled out (or a whole window, when
                # we have made none).
                now = self._clock()
                ours = self._calls[BURST]
                while ours and ours[0] <= now - seconds:
                    ours.popleft()
                until = ours[0] + seconds if ours else now + seconds
                self._blocked_until = max(self._blocked_until, until)

    def backoff(self, seconds: float) -> None:
        """After a 429: hold every bucket's new calls for ``seconds``."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + max(0.0, seconds))

    def _wait_needed(self, bucket: str) -> float:
        now = self._clock()
        if self._blocked_until > now:
            return self._blocked_until - now
        budget = self._budgets[bucket]
        calls = self._calls[bucket]
        while calls and calls[0] <= now - budget.seconds:
            calls.popleft()
        if len(calls) < budget.calls:
            return 0.0
        return calls[0] + budget.seconds - now + 0.001


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None
