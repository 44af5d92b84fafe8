"""The Salesforce sandbox WSGI application: routing and the per-call pipeline.

Every API call goes through the same steps, in the order the real service applies them:
count it (:class:`Stats`), add injected latency, check the bearer session (401
``INVALID_SESSION_ID`` as a JSON array; an injected expiry invalidates every session first),
take one unit of the daily allowance (403 ``REQUEST_LIMIT_EXCEEDED`` past it), apply an
injected failure (429/500/503), run the handler, then (for writes) possibly drop the
connection after applying. Every answer carries ``Sforce-Limit-Info: api-usage=N/M``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connectors.sandbox.common import FaultPlan, Stats, drop_connection
from connectors.sandbox.salesforce.auth import Credentials, Sessions
from connectors.sandbox.salesforce.errors import ApiError
from connectors.sandbox.salesforce.query import Cursors
from connectors.sandbox.salesforce.store import Store
from connectors.sandbox.salesforce.writes import Writer

__all__ = ["Allowance", "Call", "Org", "Route", "SalesforceApp", "json_response"]

_FAULT_BODIES = {
    429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests. Please try again later."),
    500: (
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1938285213-52467 (-1245342671)",
    ),
    502: ("UNKNOWN_EXCEPTION", "Bad gateway: the instance could not be reached."),
    503: ("SERVER_UNAVAILABLE", "Server is temporarily unavailable. Please try again later."),
}
MIN_VERSION = 31.0


class Allowance:
    """The org's rolling daily API request allowance (never reset on its own here)."""

    def __init__(self, daily_limit: int) -> None:
        self.daily_limit = daily_limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.used >= self.daily_limit:
                return False
            self.used += 1
            return True

    def header(self) -> str:
        return f"api-usage={self.used}/{self.daily_limit}"


@dataclass
class Org:
    """Everything one sandbox org holds; handlers reach it through :class:`Call`."""

    store: Store
    writer: Writer
    sessions: Sessions
    creds: Credentials
    faults: FaultPlan
    stats: Stats
    allowance: Allowance
    api_version: str
    instance_url: str = ""
    cursors: Cursors = field(default_factory=Cursors)
    jobs: dict[str, Any] = field(default_factory=dict)
    bulk_polls_until_complete: int = 1


@dataclass
class Call:
    """One API call being served."""

    org: Org
    request: Request
    version: str
    written: int = 0

    def json_body(self) -> Any:
        try:
            return json.loads(self.request.get_data(as_text=True) or "null")
        except json.JSONDecodeError as exc:
            raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.msg}") from exc


@dataclass(frozen=True)
class Route:
    """One endpoint: URL rule, methods, the label :class:`Stats` counts, handler and kind."""

    rule: str
    methods: tuple[str, ...]
    label: str
    handler: Callable[..., Response]
    kind: str = "api"  # "api" | "write" | "auth"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        headers=headers,
        content_type="application/json;charset=UTF-8",
    )


def _error(exc: ApiError) -> Response:
    return json_response(exc.body(), exc.status)


class SalesforceApp:
    """WSGI callable serving ``routes`` for ``org``."""

    def __init__(self, org: Org, routes: list[Route]) -> None:
        self.org = org
        self._routes = {f"{r.label}#{i}": r for i, r in enumerate(routes)}
        self._map = Map(
            [Rule(r.rule, endpoint=key, methods=r.methods) for key, r in self._routes.items()],
            strict_slashes=False,
            merge_slashes=False,
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self._dispatch(request, environ)
        if not request.path.startswith(("/services/oauth2", "/services/Soap")):
            response.headers["Sforce-Limit-Info"] = self.org.allowance.header()
        return response(environ, start_response)

    def _dispatch(self, request: Request, environ: dict[str, Any]) -> Response:
        adapter = self._map.bind_to_environ(environ)
        try:
            key, args = adapter.match()
        except NotFound:
            return _error(ApiError(404, "NOT_FOUND", "The requested resource does not exist"))
        except MethodNotAllowed as exc:
            allowed = ",".join(exc.valid_methods or [])
            return _error(
                ApiError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}",
                )
            )
        route = self._routes[key]
        org = self.org
        org.stats.record_call(route.label)
        org.faults.delay()
        if route.kind == "auth":
            return route.handler(org, request, **args)
        try:
            args = dict(args)
            call = self._admit(request, route, args)
            response = route.handler(call, **args)
        except ApiError as exc:
            return _error(exc)
        if route.kind == "write":
            org.stats.record_write(call.written)
            if org.faults.should_drop_after_write():
                org.stats.record_fault("drop_after_write")
                drop_connection(environ)
        return response

    def _admit(self, request: Request, route: Route, args: dict[str, Any]) -> Call:
        """Version, session, allowance and injected failure checks, in Salesforce's order."""
        org = self.org
        version = str(args.pop("version", org.api_version))
        try:
            known = MIN_VERSION <= float(version) <= float(org.api_version)
        except ValueError:
            known = False
        if not known:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or None
        if org.sessions.valid(token) and org.faults.session_expires_now():
            org.sessions.expire_all()
            org.stats.record_fault("session_expired")
        if not org.sessions.valid(token):
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if not org.allowance.take():
            org.stats.record_fault("request_limit_exceeded")
            raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        status = org.faults.failure_for(route.label)
        if status is not None:
            org.stats.record_fault(f"status_{status}")
            code, message = _FAULT_BODIES.get(status, _FAULT_BODIES[500])
            raise ApiError(status, code, message)
        return Call(org, request, version)
