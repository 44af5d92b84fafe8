"""Validate recorded sandbox exchanges against HubSpot's official OpenAPI specs (openapi-core).

Each exchange (request + response) is checked against every spec file that has an
operation for its method and path: the request must be valid for the operation and the
response valid for its status (the documented one, or ``default`` for errors). The spec
directory is ``REFSYNC_HUBSPOT_OPENAPI_DIR`` (default: the shared reference copy).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.validation.response.exceptions import MissingData
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from connectors.sandbox.hubspot._app import Exchange

SPEC_DIR = Path(
    os.environ.get("REFSYNC_HUBSPOT_OPENAPI_DIR", "/work/shared/reference/hubspot-openapi")
)
_SERVER = "https://api.hubapi.com"
# deals-v3.json names the deals paths by type id
_PATH_ALIASES = {"deals-v3.json": ("/crm/v3/objects/deals", "/crm/v3/objects/0-3")}


@dataclass
class Verdict:
    """Which specs had the operation, and what each found wrong (empty: valid)."""

    exchange: Exchange
    matched: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.matched) and not self.problems


class SpecBook:
    """The spec files of :data:`SPEC_DIR`, loaded once."""

    def __init__(self, spec_dir: Path = SPEC_DIR) -> None:
        # error responses are typed "*/*" in the specs; HubSpot sends JSON there
        config = Config(
            spec_validator_cls=None,
            extra_media_type_deserializers={"*/*": lambda data: json.loads(data or b"null")},
        )
        self.specs = {
            path.name: OpenAPI.from_dict(json.loads(path.read_text()), config=config)
            for path in sorted(spec_dir.glob("*.json"))
        }

    def check(self, exchange: Exchange) -> Verdict:
        verdict = Verdict(exchange)
        for name, api in self.specs.items():
            path = exchange.path
            alias = _PATH_ALIASES.get(name)
            if alias and path.startswith(alias[0]):
                path = alias[1] + path[len(alias[0]) :]
            request = _openapi_request(exchange, path)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Unsupported scheme type" (oauth2 security)
                try:
                    api.validate_request(request)
                except (PathNotFound, OperationNotFound):
                    continue
                except Exception as exc:
                    verdict.matched.append(name)
                    verdict.problems.append(f"{name} request: {_explain(exc)}")
                    continue
                verdict.matched.append(name)
                try:
                    api.validate_response(_openapi_request(exchange, path), _response(exchange))
                except MissingData:
                    # openapi-core wants a body whenever "content" is present, even the empty
                    # map the specs give every 204; an empty 204 is what they document
                    if exchange.status != 204 or exchange.response_body:
                        verdict.problems.append(f"{name} response {exchange.status}: no body")
                except Exception as exc:
                    verdict.problems.append(f"{name} response {exchange.status}: {_explain(exc)}")
        return verdict


def _openapi_request(exchange: Exchange, path: str) -> WerkzeugOpenAPIRequest:
    headers = {k: v for k, v in exchange.request_headers.items() if k.lower() != "host"}
    builder = EnvironBuilder(
        base_url=_SERVER,
        path=path,
        method=exchange.method,
        query_string=exchange.query,
        headers=headers,
        data=exchange.request_body,
    )
    return WerkzeugOpenAPIRequest(Request(builder.get_environ()))


def _response(exchange: Exchange) -> WerkzeugOpenAPIResponse:
    return WerkzeugOpenAPIResponse(
        Response(exchange.response_body, status=exchange.status, headers=exchange.response_headers)
    )


def _explain(exc: Exception) -> str:
    detail = getattr(exc, "__cause__", None)
    errors = getattr(detail, "schema_errors", None) or getattr(exc, "schema_errors", None)
    if errors:
        return f"{exc}: " + "; ".join(str(e.message) for e in errors)
    return f"{type(exc).__name__}: {exc}" + (f" ({detail})" if detail else "")
