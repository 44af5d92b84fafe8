"""Local sandboxes that answer as Salesforce and HubSpot do, with fault injection.

``SalesforceSandbox`` (HTTPS, :mod:`connectors.sandbox.salesforce`) and ``HubSpotSandbox``
(:mod:`connectors.sandbox.hubspot`) are imported lazily, so importing this package costs
nothing and one sandbox does not need the other. Shared fault injection and counters live in
:mod:`connectors.sandbox.common`.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["FaultPlan", "HubSpotSandbox", "SalesforceSandbox", "Stats"]

_LAZY = {
    "SalesforceSandbox": "connectors.sandbox.salesforce",
    "HubSpotSandbox": "connectors.sandbox.hubspot",
    "FaultPlan": "connectors.sandbox.common",
    "Stats": "connectors.sandbox.common",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
