"""The WSGI application: routing, auth, rate limits, fault injection, counters.

Every call goes through :meth:`HubSpotApp.__call__` in this order: count the call, add
latency, injected failure (FaultPlan), authentication (and session expiry), rate limits, the
handler, then the optional "apply the write and drop the connection" fault. Handlers take a
:class:`Call` and return ``(status, body)``; they raise
:class:`~connectors.sandbox.hubspot._errors.HubSpotError` for error answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connectors.sandbox.common import FaultPlan, Stats, drop_connection
from connectors.sandbox.hubspot._auth import RateLimiter, TokenAuthority
from connectors.sandbox.hubspot._clock import Clock
from connectors.sandbox.hubspot._errors import HubSpotError, error_body, rate_limited
from connectors.sandbox.hubspot._schema import SchemaRegistry
from connectors.sandbox.hubspot._sensitive import require_value_scopes
from connectors.sandbox.hubspot._store import RecordStore

__all__ = ["Call", "Exchange", "HubSpotApp", "Route", "SandboxState"]

Handler = Callable[..., tuple[int, Any]]


@dataclass(frozen=True)
class Route:
    """One implemented operation: ``kind`` is read, write, search or oauth."""

    method: str
    rule: str
    handler: Handler
    kind: str = "read"


@dataclass
class SandboxState:
    """Everything the handlers share (each piece is thread-safe on its own)."""

    clock: Clock
    schema: SchemaRegistry
    store: RecordStore
    auth: TokenAuthority
    limiter: RateLimiter
    faults: FaultPlan
    stats: Stats
    extras: dict[str, Any] = field(default_factory=dict)  # pipelines, associations
    sensitive_data: bool = False  # the account's irreversible HIPAA sensitive-data setting
    search_result_cap: int = 10_000
    max_url_length: int = 8192  # longer request lines answer 414 URI Too Long
    # (object type, record id) -> epoch ms from which search returns it (index lag)
    index_delays: dict[tuple[str, int], int] = field(default_factory=dict)
    max_filter_groups: int = 5
    max_filters_per_group: int = 10
    max_filters_total: int = 25


@dataclass
class Call:
    """One request as the handlers see it."""

    state: SandboxState
    request: Request
    credential: str = ""
    scopes: frozenset[str] = frozenset()
    records_written: int = 0

    def json(self) -> Any:
        data = self.request.get_data(cache=True)
        if not data:
            return {}
        try:
            return json.loads(data)
        except ValueError:
            raise HubSpotError(
                400, error_body("Invalid input JSON on line 1", "VALIDATION_ERROR")
            ) from None

    def args(self, name: str) -> list[str]:
        """A list query parameter, repeated (``?p=a&p=b``) or comma-separated."""
        out: list[str] = []
        for value in self.request.args.getlist(name):
            out.extend(v for v in value.split(",") if v)
        return out

    def flag(self, name: str) -> bool:
        return self.request.args.get(name, "false").lower() == "true"

    def require_scopes(self, name: str, properties: Any, access: str) -> None:
        """403 ``MISSING_SCOPES`` when ``properties`` (names) of object ``name`` include a
        sensitive-data property this call's token may not ``access`` (read or write)."""
        names = [str(p) for p in properties or () if isinstance(p, str)]
        if names:
            definitions = self.state.schema.properties(name)
            require_value_scopes(definitions, name, names, access, self.scopes)

    def require_write_scopes(self, name: str, inputs: Any) -> None:
        """:meth:`require_scopes` for the property names of write inputs."""
        names: set[str] = set()
        for item in inputs if isinstance(inputs, list) else [inputs]:
            props = item.get("properties") if isinstance(item, dict) else None
            if isinstance(props, dict):
                names.update(props)
        self.require_scopes(name, sorted(names), "write")


@dataclass(frozen=True)
class Exchange:
    """A request and its answer, as recorded for contract tests."""

    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes


def _json_response(status: int, body: Any, headers: dict[str, str]) -> Response:
    if status == 204 or body is None:
        empty = Response(b"", status=status, headers=headers)
        empty.headers.pop("Content-Type", None)  # HubSpot sends no body and no type on 204
        return empty
    # orjson: UTF-8 like the real API, and several times faster than json on big pages
    data = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    return Response(
        data, status=status, headers=headers, content_type="application/json;charset=utf-8"
    )


def _injected(status: int) -> HubSpotError:
    if status == 429:
        return rate_limited("TEN_SECONDLY_ROLLING", "publicapi:private-app-ten-secondly")
    if status == 500:
        return HubSpotError(500, error_body("internal error", "INTERNAL_ERROR"))
    return HubSpotError(status, error_body("Service Unavailable", "SERVICE_UNAVAILABLE"))


class HubSpotApp:
    """WSGI callable serving the implemented :class:`Route` s over ``state``."""

    def __init__(self, state: SandboxState, routes: list[Route]) -> None:
        self.state = state
        self.routes = routes
        self._map = Map(
            [Rule(r.rule, methods=[r.method], endpoint=i) for i, r in enumerate(routes)],
            strict_slashes=False,
        )
        self.recorder: Callable[[Exchange], None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._serve(request, environ)
        if self.recorder is not None:
            self._record(request, response)
        return response(environ, start_response)

    def _serve(self, request: Request, environ: dict[str, Any]) -> Response:
        if len(request.full_path) > self.state.max_url_length:
            message = (
                f"URI Too Long: the request line exceeds {self.state.max_url_length} characters"
            )
            return _json_response(414, error_body(message, "URI_TOO_LONG"), {})
        adapter = self._map.bind_to_environ(environ)
        try:
            index, args = adapter.match()
        except (NotFound, MethodNotAllowed) as exc:
            code = exc.code or 404
            message = f"Unable to route {request.method} {request.path}"
            return _json_response(code, error_body(message, "OBJECT_NOT_FOUND"), {})
        except HTTPException as exc:  # pragma: no cover - werkzeug redirects etc.
            return exc.get_response()
        route = self.routes[index]
        label = f"{route.method} {self._label(route, args)}"
        headers: dict[str, str] = {}
        call = Call(self.state, request)
        try:
            headers = self._gate(route, label, call)
            status, body = route.handler(call, **args)
        except HubSpotError as exc:
            return _json_response(exc.status, exc.body, {**headers, **exc.headers})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # a body missing a required field or with a wrong type: HubSpot answers 400
            message = f"Invalid input JSON: {type(exc).__name__} {exc}"
            return _json_response(400, error_body(message, "VALIDATION_ERROR"), headers)
        if route.kind == "write":
            self.state.stats.record_write(call.records_written)
            if self.state.faults.should_drop_after_write():
                self.state.stats.record_fault("drop_after_write")
                drop_connection(environ)
        return _json_response(status, body, headers)

    @staticmethod
    def _label(route: Route, args: Mapping[str, Any]) -> str:
        label = route.rule
        for key in ("objectType", "fromObjectType", "toObjectType"):
            if key in args:
                label = label.replace(f"<{key}>", str(args[key]))
        return label

    def _gate(self, route: Route, label: str, call: Call) -> dict[str, str]:
        """Counters, latency, injected failures, auth and rate limits; the headers to send."""
        state = self.state
        state.stats.record_call(label)
        state.faults.delay()
        status = state.faults.failure_for(label)
        if status is not None:
            state.stats.record_fault(f"fail_{status}")
            error = _injected(status)
            if status == 429:  # a real 429 carries the rate-limit headers too
                error.headers.update(state.limiter.headers())
            raise error
        if route.kind == "oauth":
            return {}
        if state.faults.session_expires_now():
            state.auth.oauth.expire_all()
            state.stats.record_fault("session_expired")
        header = call.request.headers.get("Authorization")
        call.credential = state.auth.authenticate(header)
        call.scopes = state.auth.scopes(header)
        try:
            headers = state.limiter.admit(burst=route.kind != "search")
        except HubSpotError as exc:
            state.stats.record_fault(f"rate_limited:{exc.body.get('policyName')}")
            raise
        if route.kind == "search":
            return {}  # search answers carry no rate-limit headers
        if call.credential == "oauth":  # daily headers are not sent for OAuth tokens
            headers = {k: v for k, v in headers.items() if "Daily" not in k}
        return headers

    def _record(self, request: Request, response: Response) -> None:
        assert self.recorder is not None
        self.recorder(
            Exchange(
                method=request.method,
                path=request.path,
                query=request.query_string.decode(),
                request_headers=dict(request.headers),
                request_body=request.get_data(cache=True),
                status=response.status_code,
                response_headers=dict(response.headers),
                response_body=response.get_data(),
            )
        )
