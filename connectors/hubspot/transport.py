"""Every HubSpot call goes through :class:`Transport`: limiter, auth, raw JSON, retries, errors.

- The generated sub-APIs are built once and cached (each access of ``client.crm...`` builds a
  new ``ApiClient`` with its own connection pool).
- Calls use the client's raw-response path (``_preload_content=False``) and parse the JSON
  ourselves: building hubspot-api-client model objects costs ~12 s of CPU per 100k records.
- The bearer token is passed per call (``_request_auth``), so an OAuth refresh takes effect
  on the very next call of every thread.
- One retry policy (tenacity): 429 ``TEN_SECONDLY_ROLLING`` waits for the window (through
  the limiter) and retries any method, POST and PATCH included (our writes are idempotent
  upserts); 5xx and dropped connections back off exponentially; a 401 refreshes the OAuth
  token once and retries. ``DAILY`` 429s raise :class:`~mapping.errors.QuotaExhausted`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from connectors.hubspot.auth import TokenProvider
from connectors.hubspot.errors import is_vendor_error, translate
from connectors.hubspot.ratelimit import BURST, RateLimiter
from connectors.hubspot.settings import HubSpotSettings
from mapping.errors import RateLimited, RetryableError, SessionExpired

__all__ = ["SUB_APIS", "Response", "Transport"]

SUB_APIS: dict[str, tuple[str, ...]] = {
    "objects_basic": ("crm", "objects", "basic_api"),
    "objects_batch": ("crm", "objects", "batch_api"),
    "objects_search": ("crm", "objects", "search_api"),
    "associations_batch": ("crm", "associations", "v4", "batch_api"),
    "properties": ("crm", "properties", "core_api"),
    "property_groups": ("crm", "properties", "groups_api"),
    "pipelines": ("crm", "pipelines", "pipelines_api"),
    "pipeline_stages": ("crm", "pipelines", "pipeline_stages_api"),
    "schemas": ("crm", "schemas", "core_api"),
    "oauth_tokens": ("oauth", "tokens_api"),
}
"""Every sub-API the connector calls, as an attribute path on ``hubspot.HubSpot``."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    data: Any
    headers: dict[str, str]


class Transport:
    """Calls HubSpot sub-API methods with limiting, auth, retries and error translation."""

    def __init__(
        self,
        client: Any,
        settings: HubSpotSettings,
        *,
        limiter: RateLimiter | None = None,
        tokens: TokenProvider | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._settings = settings
        self._sleep = sleep
        self._apis: dict[str, Any] = {}
        self._apis_lock = threading.Lock()
        self.limiter = limiter or RateLimiter(
            ten_second_budget=settings.ten_second_budget,
            search_per_second=settings.search_per_second,
            clock=monotonic,
            sleep=sleep,
        )
        self.tokens = tokens or TokenProvider(
            settings, oauth_api=lambda: self.api("oauth_tokens"), clock=monotonic
        )
        self.calls: Counter[str] = Counter()
        self.rate_limited = 0
        self.retried = 0
        self._count_lock = threading.Lock()

    def api(self, name: str) -> Any:
        """The cached generated API object ``name`` (a key of :data:`SUB_APIS`)."""
        with self._apis_lock:
            api = self._apis.get(name)
            if api is None:
                api = self._client
                for attr in SUB_APIS[name]:
                    api = getattr(api, attr)
                self._apis[name] = api
            return api

    def call(
        self, api: str, method: str, *args: Any, what: str, bucket: str = BURST, **kwargs: Any
    ) -> Response:
        """Call ``api.method(*args, **kwargs)``; JSON-decoded answer or a refsync error."""
        retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),
            stop=stop_after_attempt(self._settings.retries + 1),
            wait=_wait_for,
            sleep=self._sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            return retrying(self._attempt, api, method, args, kwargs, what, bucket)
        except RetryableError as exc:
            raise exc.gave_up(self._settings.retries + 1) from exc

    def _attempt(
        self,
        api: str,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        what: str,
        bucket: str,
    ) -> Response:
        token = self.tokens.current()
        self.limiter.acquire(bucket)
        with self._count_lock:
            self.calls[f"{api}.{method}"] += 1
        auth = {
            "in": "header",
            "key": "Authorization",
            "value": f"Bearer {token}",
            "type": "oauth2",
        }
        try:
            raw = getattr(self.api(api), method)(
                *args,
                _preload_content=False,
                _request_auth=auth,
                _request_timeout=self._settings.timeout_seconds,
                **kwargs,
            )
            body = raw.data
            headers = dict(raw.headers)
            raw.release_conn()
        except Exception as exc:
            if not is_vendor_error(exc):
                raise
            raise self._failed(exc, what, token) from exc
        self.limiter.observe(headers)
        return Response(raw.status, _decode(body) if body else None, headers)

    def _failed(self, exc: BaseException, what: str, token: str) -> Exception:
        headers = getattr(exc, "headers", None)
        if headers:
            self.limiter.observe(dict(headers))
        error = translate(exc, what=what, can_refresh=self.tokens.can_refresh)
        if isinstance(error, RateLimited):
            with self._count_lock:
                self.rate_limited += 1
            self.limiter.backoff(error.retry_after or 10.0)
        elif isinstance(error, SessionExpired):
            self.tokens.refresh(seen=token)
        return error

    def _count_retry(self, state: RetryCallState) -> None:
        with self._count_lock:
            self.retried += 1

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def _wait_for(state: RetryCallState) -> float:
    """Seconds before the next attempt; rate limits wait inside the limiter instead."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RateLimited | SessionExpired):
        return 0.0
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float):
        return float(retry_after)
    return float(min(8.0, 0.25 * 2 ** (state.attempt_number - 1)))


def _decode(body: bytes) -> Any:
    """A response body's JSON, decoded by orjson (several times json's speed on read pages)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        # What orjson refuses but json reads (NaN, Infinity). Integers past 64 bits would
        # come out as floats, but HubSpot sends property values and ids as strings.
        return json.loads(body)
