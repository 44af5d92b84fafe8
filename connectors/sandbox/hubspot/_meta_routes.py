"""Metadata endpoints: properties and groups, custom object schemas, and the OAuth token.

Statuses from properties-v3.json and schemas-v3.json: list/get/update 200, create 201.
``POST /oauth/v1/token`` (form-encoded) answers 200 with a new access token.
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.hubspot._app import Call, Route
from connectors.sandbox.hubspot._data import PORTAL_ID
from connectors.sandbox.hubspot._errors import HubSpotError, error_body, validation_error
from connectors.sandbox.hubspot._sensitive import check_new_property, visible_property

__all__ = ["ROUTES"]

_PROPS = "/crm/v3/properties/<objectType>"
_APP_ID = 1_000_001
_USER_ID = 2_000_002
_SCHEMAS = "/crm-object-schemas/v3/schemas"


def _list_properties(call: Call, objectType: str) -> tuple[int, Any]:
    schema = call.state.schema
    name = schema.resolve(objectType)
    archived = call.flag("archived")
    wanted = set(call.args("properties"))
    sensitivity = call.request.args.get("dataSensitivity")  # absent: non-sensitive only
    results = [
        p
        for p in schema.properties(name).values()
        if p.get("archived", False) == archived
        and (not wanted or p["name"] in wanted)
        and visible_property(p, sensitivity)
    ]
    return 200, {"results": results}


def _get_property(call: Call, objectType: str, propertyName: str) -> tuple[int, Any]:
    schema = call.state.schema
    name = schema.resolve(objectType)
    prop = schema.property(name, propertyName)
    if prop is None:
        raise HubSpotError(
            404,
            error_body(
                f"Unable to find property {propertyName} for object type {name}",
                "OBJECT_NOT_FOUND",
            ),
        )
    return 200, prop


def _create_property(call: Call, objectType: str) -> tuple[int, Any]:
    schema = call.state.schema
    name = schema.resolve(objectType)
    body = call.json()
    if isinstance(body, dict):
        check_new_property(name, body, call.state.sensitive_data, call.scopes)
    return 201, schema.create_property(name, body, call.state.clock.now_ms())


def _update_property(call: Call, objectType: str, propertyName: str) -> tuple[int, Any]:
    schema = call.state.schema
    name = schema.resolve(objectType)
    body = call.json()
    current = schema.property(name, propertyName) or {}
    level = current.get("dataSensitivity", "non_sensitive")
    if isinstance(body, dict) and body.get("dataSensitivity", level) != level:
        raise validation_error(
            f"dataSensitivity of property {propertyName} cannot be changed; create a new "
            "property with the sensitivity wanted"
        )
    call.require_scopes(name, [propertyName], "write")
    return 200, schema.update_property(name, propertyName, body, call.state.clock.now_ms())


def _list_groups(call: Call, objectType: str) -> tuple[int, Any]:
    schema = call.state.schema
    return 200, {"results": schema.groups(schema.resolve(objectType))}


def _get_group(call: Call, objectType: str, groupName: str) -> tuple[int, Any]:
    schema = call.state.schema
    return 200, schema.group(schema.resolve(objectType), groupName)


def _create_group(call: Call, objectType: str) -> tuple[int, Any]:
    schema = call.state.schema
    return 201, schema.create_group(schema.resolve(objectType), call.json())


def _list_schemas(call: Call) -> tuple[int, Any]:
    schema = call.state.schema
    return 200, {"results": [schema.custom_object(n) for n in schema.custom_object_names()]}


def _get_schema(call: Call, objectType: str) -> tuple[int, Any]:
    schema = call.state.schema
    name = schema.resolve(objectType)
    if name not in schema.custom_object_names():
        raise HubSpotError(
            404, error_body(f"Unable to find object type {objectType}", "OBJECT_NOT_FOUND")
        )
    return 200, schema.custom_object(name)


def _create_schema(call: Call) -> tuple[int, Any]:
    body = call.json()
    if not isinstance(body.get("properties"), list) or "requiredProperties" not in body:
        raise validation_error("An object schema needs 'properties' and 'requiredProperties'")
    state = call.state
    schema = state.schema.create_custom_object(body, state.clock.now_ms())
    for other in body.get("associatedObjects") or []:
        state.extras["associations"].define_pair(body["name"], state.schema.resolve(other))
    return 201, schema


def _token(call: Call) -> tuple[int, Any]:
    form = {k: v for k, v in call.request.form.items()}
    return 200, call.state.auth.oauth.exchange(form)


def _token_info(call: Call, token: str) -> tuple[int, Any]:
    """``GET /oauth/v1/access-tokens/{token}``: an OAuth access token's metadata."""
    scopes = call.state.auth.token_scopes(token)
    if scopes is None or not call.state.auth.oauth.known(token):
        raise HubSpotError(404, error_body("Token not found", "OBJECT_NOT_FOUND"))
    return 200, {
        "token": token,
        "user": "sandbox@example.org",
        "hub_domain": "sandbox.hubspot.com",
        "scopes": sorted(scopes),
        "hub_id": PORTAL_ID,
        "app_id": _APP_ID,
        "expires_in": call.state.auth.oauth.expires_in,
        "user_id": _USER_ID,
        "token_type": "access",
    }


def _private_token_info(call: Call) -> tuple[int, Any]:
    """``POST /oauth/v2/private-apps/get/access-token-info`` (body ``{"tokenKey": ...}``):
    a private app token's scopes (developers.hubspot.com/docs/api/private-apps)."""
    body = call.json()
    token = str(body.get("tokenKey") or "") if isinstance(body, dict) else ""
    scopes = call.state.auth.token_scopes(token)
    if scopes is None or call.state.auth.oauth.known(token):
        raise validation_error("tokenKey is not a private app access token of this account")
    return 200, {"userId": _USER_ID, "hubId": PORTAL_ID, "appId": _APP_ID, "scopes": sorted(scopes)}


ROUTES = [
    Route("GET", _PROPS, _list_properties),
    Route("POST", _PROPS, _create_property, "write"),
    Route("GET", f"{_PROPS}/groups", _list_groups),
    Route("POST", f"{_PROPS}/groups", _create_group, "write"),
    Route("GET", f"{_PROPS}/groups/<groupName>", _get_group),
    Route("GET", f"{_PROPS}/<propertyName>", _get_property),
    Route("PATCH", f"{_PROPS}/<propertyName>", _update_property, "write"),
    Route("GET", _SCHEMAS, _list_schemas),
    Route("POST", _SCHEMAS, _create_schema, "write"),
    Route("GET", f"{_SCHEMAS}/<objectType>", _get_schema),
    Route("POST", "/oauth/v1/token", _token, "oauth"),
    Route("GET", "/oauth/v1/access-tokens/<token>", _token_info, "oauth"),
    Route("POST", "/oauth/v2/private-apps/get/access-token-info", _private_token_info, "oauth"),
]
