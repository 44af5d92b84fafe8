"""Registry of connector types by their ``type:`` name in refsync.yaml.

Built-in connectors register here lazily (so importing the registry does not import every
vendor client); third-party connectors register through the ``refsync.connectors`` entry
point group.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from connectors.base import Connector, missing_hooks
from mapping.errors import ConfigurationError

__all__ = ["connector_class", "connector_types"]

_BUILTIN = {
    "salesforce": "connectors.salesforce:SalesforceConnector",
    "hubspot": "connectors.hubspot:HubSpotConnector",
    "scheduling": "connectors.scheduling:SchedulingConnector",
    "warehouse": "connectors.warehouse:WarehouseConnector",
}


def connector_types() -> list[str]:
    names = set(_BUILTIN)
    names |= {ep.name for ep in entry_points(group="refsync.connectors")}
    return sorted(names)


def connector_class(type_name: str) -> type[Connector]:
    """The connector class for ``type_name``; KeyError naming the known types if unknown."""
    target = _BUILTIN.get(type_name)
    if target is None:
        for ep in entry_points(group="refsync.connectors"):
            if ep.name == type_name:
                return _checked(type_name, ep.load())
        raise KeyError(
            f"unknown connection type {type_name!r}; known: {', '.join(connector_types())}"
        )
    module_name, _, attr = target.partition(":")
    return _checked(type_name, getattr(importlib.import_module(module_name), attr))


def _checked(type_name: str, found: object) -> type[Connector]:
    """A plugin that is not a Connector subclass is a configuration error, not an assert."""
    if not (isinstance(found, type) and issubclass(found, Connector)):
        raise ConfigurationError(
            f"connection type {type_name!r} names {found!r}, which is not a "
            "connectors.base.Connector subclass; fix the plugin's entry point"
        )
    missing = missing_hooks(found)
    if missing:
        raise ConfigurationError(
            f"connection type {type_name!r} ({found.__qualname__}) declares capabilities "
            f"without their hooks ({'; '.join(missing)}); implement them or drop the "
            "capability from its `capabilities`"
        )
    return found
