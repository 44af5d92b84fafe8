"""Access tokens: a private-app token as given, or OAuth with single-flight refresh.

HubSpot OAuth access tokens live about 30 minutes and hubspot-api-client never refreshes
them. :class:`TokenProvider` hands out the current token; when calls see a 401 it refreshes
**once** however many threads saw the 401 together (a lock plus "was it already replaced?"),
and stores the rotated refresh token HubSpot may return (``on_rotate`` lets the caller
persist it).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from connectors.hubspot.errors import is_vendor_error, translate
from connectors.hubspot.settings import HubSpotSettings
from mapping.errors import AuthenticationError, ConnectorError

__all__ = ["TokenProvider"]

_EARLY_REFRESH_SECONDS = 60.0


class TokenProvider:
    """The bearer token for every call, refreshed in one place."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        oauth_api: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_rotate: Callable[[str, str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._oauth_api = oauth_api
        self._clock = clock
        self._on_rotate = on_rotate
        self._lock = threading.Lock()
        token = settings.access_token.get_secret_value() if settings.access_token else ""
        self._token = token
        self._refresh_token = (
            settings.refresh_token.get_secret_value() if settings.refresh_token else ""
        )
        self._expires_at: float | None = None
        self.refresh_count = 0

    @property
    def can_refresh(self) -> bool:
        return self._settings.auth == "oauth"

    def current(self) -> str:
        """The token to send now (refreshing first if OAuth and it is about to expire)."""
        if self.can_refresh and (not self._token or self._expiring()):
            self.refresh(seen=self._token)
        return self._token

    def refresh(self, *, seen: str) -> None:
        """Refresh unless another caller already replaced ``seen`` (single flight)."""
        if not self.can_refresh:
            raise AuthenticationError(
                "HubSpot private-app token was refused; create a new token and update the "
                "connection's access_token"
            )
        with self._lock:
            if self._token != seen and self._token and not self._expiring():
                return
            self._token, self._expires_at = self._request_new_token()
            self.refresh_count += 1

    def _expiring(self) -> bool:
        return self._expires_at is not None and self._clock() >= self._expires_at

    def _request_new_token(self) -> tuple[str, float | None]:
        if self._oauth_api is None:
            raise AuthenticationError("HubSpot OAuth refresh is not wired (no oauth client)")
        settings = self._settings
        secret = settings.client_secret.get_secret_value() if settings.client_secret else ""
        try:
            response = self._oauth_api().create(
                grant_type="refresh_token",
                client_id=settings.client_id,
                client_secret=secret,
                refresh_token=self._refresh_token,
                _preload_content=False,
                _request_timeout=settings.timeout_seconds,
            )
            payload = json.loads(response.data or b"{}")
        except Exception as exc:
            if not is_vendor_error(exc):
                raise
            error = translate(exc, what="OAuth token refresh")
            if isinstance(error, ConnectorError) and getattr(exc, "status", None) in (400, 401):
                raise AuthenticationError(
                    "HubSpot OAuth refresh was refused (invalid_grant?); reconnect the app and "
                    "update the connection's refresh_token"
                ) from exc
            raise error from exc
        return self._accept(payload)

    def _accept(self, payload: dict[str, Any]) -> tuple[str, float | None]:
        token = str(payload.get("access_token") or "")
        if not token:
            raise AuthenticationError("HubSpot OAuth refresh answered without an access_token")
        rotated = payload.get("refresh_token")
        if rotated and rotated != self._refresh_token:
            self._refresh_token = str(rotated)
            if self._on_rotate is not None:
                self._on_rotate(token, self._refresh_token)
        expires_in = payload.get("expires_in")
        expires_at = None
        if isinstance(expires_in, int | float) and expires_in > 0:
            expires_at = self._clock() + max(0.0, float(expires_in) - _EARLY_REFRESH_SECONDS)
        return token, expires_at
