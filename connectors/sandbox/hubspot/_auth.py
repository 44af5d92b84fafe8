"""Who may call, and how often: bearer tokens, the OAuth refresh flow, and rate limits.

- A private-app token (``pat-na1-...``) never expires.
- OAuth: :class:`OAuthIssuer` hands out refresh tokens; ``POST /oauth/v1/token`` with
  ``grant_type=refresh_token`` returns a new access token each time. Access tokens expire after
  ``expires_in`` seconds of sandbox time, after a number of calls, or on demand; an expired
  token answers 401 ``EXPIRED_AUTHENTICATION``, an unknown one 401 ``INVALID_AUTHENTICATION``.
- :class:`RateLimiter`: a rolling 10-second window per app (429 ``TEN_SECONDLY_ROLLING``) and
  a daily allowance per account (429 ``DAILY``), with the ``X-HubSpot-RateLimit-*`` headers.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

from connectors.sandbox.hubspot._clock import Clock, iso_ms
from connectors.sandbox.hubspot._data import PORTAL_ID
from connectors.sandbox.hubspot._errors import HubSpotError, rate_limited, unauthorized
from connectors.sandbox.hubspot._sensitive import ALL_SENSITIVE_SCOPES, STANDARD_SCOPES

__all__ = ["AccessGrant", "OAuthIssuer", "RateLimiter", "TokenAuthority"]


@dataclass
class AccessGrant:
    """A live OAuth access token."""

    expires_at_ms: int
    calls_left: int | None
    revoked_at_ms: int | None = None


class OAuthIssuer:
    """The sandbox's OAuth app: client credentials, refresh tokens and access tokens."""

    expires_in = 1800

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.client_id = "sandbox-client-" + secrets.token_hex(4)
        self.client_secret = secrets.token_hex(16)
        self._refresh: set[str] = set()
        self._access: dict[str, AccessGrant] = {}
        self.expire_after_calls: int | None = None
        self.tokens_issued = 0

    def issue_refresh_token(self) -> str:
        """A new refresh token for this app (what an install would hand out)."""
        token = "na1-" + secrets.token_hex(16)
        with self._lock:
            self._refresh.add(token)
        return token

    def exchange(self, form: dict[str, str]) -> dict[str, object]:
        """Answer ``POST /oauth/v1/token`` (refresh_token grant)."""
        if form.get("grant_type") != "refresh_token":
            raise _oauth_error("BAD_GRANT_TYPE", "grant_type must be refresh_token")
        if form.get("client_id") != self.client_id:
            raise _oauth_error("BAD_CLIENT_ID", "missing or unknown client id")
        if form.get("client_secret") != self.client_secret:
            raise _oauth_error("BAD_CLIENT_SECRET", "missing or invalid client secret")
        refresh = form.get("refresh_token", "")
        with self._lock:
            if refresh not in self._refresh:
                raise _oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
            access = "CN" + secrets.token_urlsafe(24)
            self._access[access] = AccessGrant(
                self._clock.now_ms() + self.expires_in * 1000, self.expire_after_calls
            )
            self.tokens_issued += 1
        return {
            "token_type": "bearer",
            "refresh_token": refresh,
            "access_token": access,
            "expires_in": self.expires_in,
        }

    def expire_all(self) -> None:
        """Expire every live access token now (refresh tokens keep working)."""
        now = self._clock.now_ms()
        with self._lock:
            for grant in self._access.values():
                if grant.revoked_at_ms is None:
                    grant.revoked_at_ms = now

    def known(self, token: str) -> bool:
        """True when ``token`` is an access token this app issued (live or not)."""
        with self._lock:
            return token in self._access

    def check(self, token: str) -> bool | None:
        """True: valid (one call counted); None: unknown; raises 401 if expired."""
        now = self._clock.now_ms()
        with self._lock:
            grant = self._access.get(token)
            if grant is None:
                return None
            expired_at = grant.revoked_at_ms
            if expired_at is None and now >= grant.expires_at_ms:
                expired_at = grant.expires_at_ms
            if expired_at is None and grant.calls_left is not None:
                if grant.calls_left <= 0:
                    grant.revoked_at_ms = expired_at = now
                else:
                    grant.calls_left -= 1
        if expired_at is not None:
            raise unauthorized(now - expired_at, iso_ms(expired_at))
        return True


def _oauth_error(status: str, message: str) -> HubSpotError:
    # OAuth errors carry their code in ``status`` (BAD_REFRESH_TOKEN, ...), not "error"
    body = {
        "status": status,
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": "VALIDATION_ERROR",
    }
    return HubSpotError(400, body)


class TokenAuthority:
    """Checks the ``Authorization: Bearer`` header of every API call, and says which scopes
    the token's app holds: ``private_token`` and OAuth tokens the standard CRM scopes (what
    :attr:`oauth_scopes` says), ``sensitive_token`` (a second private app) those and every
    sensitive and highly sensitive scope."""

    def __init__(self, clock: Clock) -> None:
        self.private_token = "pat-na1-" + secrets.token_hex(16)
        self.sensitive_token = "pat-na1-" + secrets.token_hex(16)
        self.oauth = OAuthIssuer(clock)
        self.oauth_scopes: frozenset[str] = STANDARD_SCOPES

    def token_scopes(self, token: str) -> frozenset[str] | None:
        """The scopes of ``token`` (None: not a token this account issued or knows)."""
        if token and secrets.compare_digest(token, self.sensitive_token):
            return STANDARD_SCOPES | ALL_SENSITIVE_SCOPES
        if token and secrets.compare_digest(token, self.private_token):
            return STANDARD_SCOPES
        if token and self.oauth.known(token):
            return self.oauth_scopes
        return None

    def scopes(self, header: str | None) -> frozenset[str]:
        """The scopes of an authenticated ``Authorization`` header's token."""
        token = (header or "")[len("Bearer ") :].strip()
        if token and secrets.compare_digest(token, self.sensitive_token):
            return STANDARD_SCOPES | ALL_SENSITIVE_SCOPES
        if token and secrets.compare_digest(token, self.private_token):
            return STANDARD_SCOPES
        return self.oauth_scopes

    def authenticate(self, header: str | None) -> str:
        """The kind of credential (``private_app`` or ``oauth``); raises 401 otherwise."""
        if not header or not header.startswith("Bearer "):
            raise unauthorized()
        token = header[len("Bearer ") :].strip()
        if secrets.compare_digest(token, self.private_token) or secrets.compare_digest(
            token, self.sensitive_token
        ):
            return "private_app"
        if self.oauth.check(token):
            return "oauth"
        raise unauthorized()


class RateLimiter:
    """Rolling 10-second burst window and daily allowance (both settable at run time)."""

    interval_ms = 10_000

    def __init__(self, ten_second_limit: int, daily_limit: int) -> None:
        self._lock = threading.Lock()
        self.ten_second_limit = ten_second_limit
        self.daily_limit = daily_limit
        self._window: deque[float] = deque()
        self._daily_used = 0
        # HubSpot allows about 5 searches per second per account; None: not enforced
        self.search_per_second: int | None = None
        self._searches: deque[float] = deque()

    def reset(self) -> None:
        with self._lock:
            self._window.clear()
            self._searches.clear()
            self._daily_used = 0

    def admit(self, *, burst: bool = True) -> dict[str, str]:
        """Count one call or raise 429; returns the rate-limit headers for the response.

        ``burst=False`` (search) skips the ten-second window, as HubSpot exempts search.
        """
        now = time.monotonic()
        with self._lock:
            while self._window and now - self._window[0] >= self.interval_ms / 1000:
                self._window.popleft()
            if self._daily_used >= self.daily_limit:
                raise self._refuse("DAILY", "publicapi:daily-api-calls")
            if burst and len(self._window) >= self.ten_second_limit:
                raise self._refuse(
                    "TEN_SECONDLY_ROLLING", f"publicapi:private-app-ten-secondly:{PORTAL_ID}"
                )
            if not burst and self.search_per_second is not None:
                while self._searches and now - self._searches[0] >= 1.0:
                    self._searches.popleft()
                if len(self._searches) >= self.search_per_second:
                    raise self._refuse("SECONDLY", f"publicapi:crm-search-secondly:{PORTAL_ID}")
                self._searches.append(now)
            self._daily_used += 1
            if burst:
                self._window.append(now)
            return self._headers_locked()

    def _refuse(self, policy: str, group: str) -> HubSpotError:
        error = rate_limited(policy, group)
        error.headers.update(self._headers_locked())
        return error

    def headers(self) -> dict[str, str]:
        with self._lock:
            return self._headers_locked()

    def _headers_locked(self) -> dict[str, str]:
        remaining = max(0, self.ten_second_limit - len(self._window))
        per_second = max(1, self.ten_second_limit // 10)
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_limit - self._daily_used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
            "X-HubSpot-RateLimit-Max": str(self.ten_second_limit),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Secondly": str(per_second),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(min(per_second, remaining)),
        }
