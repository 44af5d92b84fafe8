"""The one retry policy every connector's calls go through (tenacity).

A connector configures it with declared attributes (how many attempts, the backoff, whether
a ``Retry-After`` is honoured) and says only *which errors are retryable*: by default every
:class:`~mapping.errors.RetryableError` its edge translated a vendor failure into
(``RateLimited``, ``ServiceUnavailable``, ``SessionExpired``). Errors it has already waited
for (HubSpot's rate limiter holds every thread for a 429's window) are retried without a
further sleep. The sleep is injected, so tests count waits and never sleep.

Which HTTP statuses are retryable stays where vendor errors are translated (each connector's
``errors.py``, once, at its edge): a retryable status becomes a ``RetryableError`` there,
and this policy retries the types the connector names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from mapping.errors import RetryableError

__all__ = ["RetryPolicy", "Sleep"]

Sleep = Callable[[float], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one connector retries a call.

    - ``max_attempts``: tries in all (the first included);
    - ``backoff_initial`` / ``backoff_max`` / ``jitter``: exponential backoff in seconds
      (``initial * 2 ** (n - 1)`` capped at ``max``, plus up to ``jitter`` at random);
    - ``honour_retry_after``: wait the ``retry_after`` a server sent instead of the backoff;
    - ``retryable``: the error types worth another try (the connector's one decision);
    - ``waited``: retryable types the connector already waited for: retried at once.
    """

    max_attempts: int = 5
    backoff_initial: float = 0.25
    backoff_max: float = 8.0
    jitter: float = 0.0
    honour_retry_after: bool = True
    retryable: tuple[type[BaseException], ...] = (RetryableError,)
    waited: tuple[type[BaseException], ...] = ()

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (no ``Retry-After``)."""
        state = RetryCallState(retry_object=Retrying(), fn=None, args=(), kwargs={})
        state.attempt_number = attempt
        return float(self._exponential(state))

    def wait(self, state: RetryCallState) -> float:
        """Seconds before the next attempt after the failure in ``state``."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, self.waited):
            return 0.0
        retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
        if self.honour_retry_after and retry_after is not None:
            return float(retry_after)
        return float(self._exponential(state))

    def retrying(
        self,
        *,
        sleep: Sleep | None = None,
        before_sleep: Callable[[RetryCallState], None] | None = None,
    ) -> Retrying:
        """A tenacity ``Retrying`` for this policy (the last error re-raised when spent)."""
        options: dict[str, object] = {}
        if sleep is not None:
            options["sleep"] = sleep
        if before_sleep is not None:
            options["before_sleep"] = before_sleep
        return Retrying(
            retry=retry_if_exception_type(self.retryable),
            stop=stop_after_attempt(self.max_attempts),
            wait=self.wait,
            reraise=True,
            **options,  # type: ignore[arg-type]
        )

    def call(
        self,
        fn: Callable[..., T],
        *args: object,
        sleep: Sleep | None = None,
        before_sleep: Callable[[RetryCallState], None] | None = None,
    ) -> T:
        """``fn(*args)`` under this policy. Once the attempts are spent, the last retryable
        error is raised as :meth:`~mapping.errors.RetryableError.gave_up` (its message
        says the run gave up, never "retrying")."""
        try:
            return self.retrying(sleep=sleep, before_sleep=before_sleep)(fn, *args)
        except RetryableError as exc:
            if not isinstance(exc, self.retryable):
                raise  # not this policy's to retry: as it came
            raise exc.gave_up(self.max_attempts) from exc

    def _exponential(self, state: RetryCallState) -> float:
        wait = wait_exponential_jitter(
            multiplier=self.backoff_initial, max=self.backoff_max, jitter=self.jitter
        )
        return float(wait(state))
