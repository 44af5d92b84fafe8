"""Every Salesforce call goes through :class:`CallRunner`: quota check, error translation,
retries with backoff, and one re-login on an expired session.

- Transient failures (:class:`ServiceUnavailable`: 5xx, timeouts, dropped connections, row
  locks; :class:`RateLimited`) are retried under the shared :class:`~connectors.retry.
  RetryPolicy` (the connector's ``retry_policy`` with the settings' attempts and backoff):
  exponential backoff with jitter, or the server's ``Retry-After`` when it sends one. The sleep
  is injectable so tests do not wait. Only idempotent calls are made (upserts by external id,
  queries, deletes by id), so a retry after an ambiguous failure cannot duplicate a record.
- :class:`SessionExpired` (401 ``INVALID_SESSION_ID``) triggers one re-login through
  ``relogin`` and one more try; a second expiry on the same call is an AuthenticationError.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, cast

from connectors.retry import RetryPolicy
from connectors.salesforce.errors import translate
from connectors.salesforce.quota import QuotaGuard
from connectors.salesforce.settings import SalesforceSettings
from mapping.errors import (
    AuthenticationError,
    RateLimited,
    RefsyncError,
    ServiceUnavailable,
    SessionExpired,
)

__all__ = ["RETRY_POLICY", "CallRunner", "Sleep"]

RETRY_POLICY = RetryPolicy(retryable=(ServiceUnavailable, RateLimited))
"""Salesforce retries transient failures and rate limits; an expired session re-logs in."""

T = TypeVar("T")
Sleep = Callable[[float], None]


class CallRunner:
    """Runs vendor calls with the connector's failure policy (see the module docstring)."""

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        quota: QuotaGuard,
        relogin: Callable[[], None],
        sleep: Sleep,
        policy: RetryPolicy = RETRY_POLICY,
    ) -> None:
        self.settings = settings
        self.quota = quota
        self.sleep = sleep
        self.calls = 0
        self._relogin = relogin
        self.policy = dataclasses.replace(
            policy,
            max_attempts=settings.max_attempts,
            backoff_initial=settings.backoff_initial_seconds,
            backoff_max=settings.backoff_max_seconds,
            jitter=settings.backoff_initial_seconds,
        )

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (exponential with jitter)."""
        return self.policy.backoff(attempt)

    def run(self, where: str, fn: Callable[[], T]) -> T:
        """Call ``fn`` under the policy; ``where`` names the operation in messages."""
        try:
            return self._with_retries(where, fn)
        except SessionExpired:
            self._relogin()
            try:
                return self._with_retries(where, fn)
            except SessionExpired as second:
                raise AuthenticationError(
                    f"Salesforce rejected a fresh session during {where}; the integration "
                    "user's token is revoked or its session policy is wrong: check the "
                    "connected app and credentials"
                ) from second

    def _with_retries(self, where: str, fn: Callable[[], T]) -> T:
        return cast(T, self.policy.call(self._once, where, fn, sleep=self.sleep))

    def _once(self, where: str, fn: Callable[[], Any]) -> Any:
        self.quota.check()
        self.calls += 1
        try:
            return fn()
        except RefsyncError:
            raise
        except Exception as exc:
            raise translate(exc, where) from exc
