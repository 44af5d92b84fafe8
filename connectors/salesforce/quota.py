"""Quota guard: stop a run before it takes the org past a share of its daily API allowance.

Salesforce reports usage on every REST response in ``Sforce-Limit-Info: api-usage=N/M``. The
guard reads it through a ``requests`` response hook on the client's session (so every call
counts, whichever code path made it), and :meth:`QuotaGuard.check` runs before each call: when
one more call would pass ``quota_share`` of ``M`` it raises :class:`QuotaExhausted`, so the
engine saves state and the run ends cleanly (exit code 3) instead of starving the org.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import requests

from mapping.errors import QuotaExhausted

__all__ = ["QuotaGuard"]

_USAGE = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")


class QuotaGuard:
    """Tracks ``api-usage`` from response headers and refuses calls past ``share``."""

    def __init__(self, share: float) -> None:
        self.share = share
        self.used: int | None = None
        self.total: int | None = None
        self._lock = threading.Lock()

    def install(self, session: requests.Session) -> None:
        """Add the response hook to ``session`` (once)."""
        hooks = session.hooks.setdefault("response", [])
        if self.hook not in hooks:
            hooks.append(self.hook)

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        header = response.headers.get("Sforce-Limit-Info")
        if header:
            self.observe(header)

    def observe(self, header: str) -> None:
        match = _USAGE.search(header)
        if match:
            with self._lock:
                self.used, self.total = int(match.group(1)), int(match.group(2))

    @property
    def ceiling(self) -> int | None:
        """The most calls this connection may have used in the window, or None if unknown."""
        return None if self.total is None else int(self.total * self.share)

    def check(self, calls: int = 1) -> None:
        """Raise QuotaExhausted if ``calls`` more calls would pass the configured share."""
        ceiling = self.ceiling
        if ceiling is None or self.used is None:
            return
        if self.used + calls > ceiling:
            raise QuotaExhausted(
                f"Salesforce API usage is {self.used}/{self.total} calls in the last 24 hours; "
                f"this run stops at quota_share={self.share:g} ({ceiling} calls) with its state "
                "saved and resumes on the next run. Raise quota_share in the connection "
                "settings to let refsync use more of the org's allowance."
            )
