"""Local sandboxes that answer as Salesforce and HubSpot do, with fault injection.

``SalesforceSandbox`` (HTTPS, :mod:`connectors.sandbox.salesforce`) and ``HubSpotSandbox``
(:mod:`connectors.sandbox.hubspot`) are imported lazily, so importing this package costs
nothing and one sandbox does not need the other. Shared pieces:
:mod:`connectors.sandbox.common` (``FaultPlan``, ``Stats``), :mod:`connectors.sandbox.serving`
(``BackgroundServer`` with keep-alive, ``drop_connection``), :mod:`connectors.sandbox.tls`
(the sandbox CA).

Typical test use::

    with SalesforceSandbox() as sb:
        sf = sb.make_client()                       # or make_client(login="jwt") to re-login
        sb.faults.configure(fail_every=3, fail_status=503)
        sb.faults.lock_rows(["r-1"], times=1)       # UNABLE_TO_LOCK_ROW for that key, once
        sb.faults.drop_next_writes(1)               # apply, then close without answering
        sb.faults.configure(expire_session_after=10)
        sb.stats.snapshot()                         # calls per endpoint, writes, faults
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
