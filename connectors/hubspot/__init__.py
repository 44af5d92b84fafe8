"""HubSpot connector: batch upserts, search past the 10k cap, pipelines, associations, limits.

Public API::

    from connectors.hubspot import HubSpotConnector, HubSpotSettings
    connector = HubSpotConnector(HubSpotSettings(access_token="pat-..."))
    connector = HubSpotConnector(settings, client=hubspot.HubSpot(...))   # injected client

    from connectors.hubspot import plan_provision, apply_provision
    plan = plan_provision(connector)          # list of ProvisionAction (printable)
    apply_provision(connector, plan)

Modules: ``settings`` (settings, client factory), ``auth`` (tokens, OAuth refresh),
``errors`` (the only place vendor errors are translated), ``ratelimit``, ``transport``
(every call: limiter, auth, raw JSON, retries), ``describe``, ``search`` / ``reads``,
``writes``, ``associations`` / ``ids``, ``pipelines``, ``engagements``, ``provision``.
"""

from __future__ import annotations

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.provision import ProvisionAction, apply_provision, plan_provision
from connectors.hubspot.settings import HubSpotSettings, build_hubspot_client

__all__ = [
    "HubSpotConnector",
    "HubSpotSettings",
    "ProvisionAction",
    "apply_provision",
    "build_hubspot_client",
    "plan_provision",
]
