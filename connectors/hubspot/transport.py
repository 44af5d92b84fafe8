"""Every HubSpot call goes through :class:`Transport`: limiter, auth, raw JSON, retries, errors.

- The generated sub-APIs are built once and cached (each access of ``client.crm...`` builds a
  new ``ApiClient`` with its own connection pool).
- Calls use the client's raw-response path (``_preload_content=False``) and parse the JSON
  ourselves: building hubspot-api-client model objects costs ~12 s of CPU per 100k records.
- The bearer token is passed per call (``_request_auth``), so an OAuth refresh takes effect
  on the very next call of every thread.
- The shared retry policy (:data:`RETRY_POLICY`, a :class:`~connectors.retry.RetryPolicy`
  with ``settings.retries``): 429 ``TEN_SECONDLY_ROLLING`` waits for the window (through
  the limiter) and retries any method, POST and PATCH included (our writes are idempotent
  upserts); 5xx and dropped connections back off exponentially; a 401 refreshes the OAuth
  token once and retries. ``DAILY`` 429s raise :class:`~mapping.errors.QuotaExhausted`.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from tenacity import RetryCallState

from connectors.hubspot.auth import TokenProvider
from connectors.hubspot.errors import is_vendor_error, translate
from connectors.hubspot.ratelimit import BURST, RateLimiter
from connectors.hubspot.settings import HubSpotSettings
from connectors.retry import RetryPolicy
from mapping.errors import RateLimited, RetryableError, SessionExpired

__all__ = ["RETRY_POLICY", "SUB_APIS", "Response", "Transport"]

RETRY_POLICY = RetryPolicy(
    backoff_initial=0.25,
    backoff_max=8.0,
    retryable=(RetryableError,),
    waited=(RateLimited, SessionExpired),  # the limiter waited / the token was refreshed
)
"""HubSpot retries every retryable error; rate limits wait inside the limiter instead."""

SUB_APIS: dict[str, tuple[str, ...]] = {
    "objects_basic": ("crm", "objects", "basic_api"),
    "objects_batch": ("crm", "objects", "batch_api"),
    "objects_search": ("crm", "objects", "search_api"),
    "associations_batch": ("crm", "associations", "v4", "batch_api"),
    "properties": ("crm", "properties", "core_api"),
    "properties_client": ("crm", "properties", "core_api", "api_client"),
    "property_groups": ("crm", "properties", "groups_api"),
    "pipelines": ("crm", "pipelines", "pipelines_api"),
    "pipeline_stages": ("crm", "pipelines", "pipeline_stages_api"),
    "schemas": ("crm", "schemas", "core_api"),
    "oauth_tokens": ("oauth", "tokens_api"),
    "oauth_access_tokens": ("oauth", "access_tokens_api"),
    "oauth_client": ("oauth", "access_tokens_api", "api_client"),
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
        policy: RetryPolicy = RETRY_POLICY,
    ) -> None:
        self._client = client
        self._settings = settings
        self.policy = dataclasses.replace(policy, max_attempts=settings.retries + 1)
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
        return self.policy.call(
            self._attempt, api, method, args, kwargs, what, bucket,
            sleep=self._sleep, before_sleep=self._count_retry,
        )  # fmt: skip

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


def _decode(body: bytes) -> Any:
    """A response body's JSON, decoded by orjson (several times json's speed on read pages)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        # What orjson refuses but json reads (NaN, Infinity). Integers past 64 bits would
        # come out as floats, but HubSpot sends property values and ids as strings.
        return json.loads(body)
