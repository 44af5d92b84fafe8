"""A ``privacy: full`` HubSpot keeps PHI only in sensitive-data properties (its hooks
``tier_problems`` and ``access_problems``).

HubSpot's BAA covers PHI only in sensitive-data properties of an account with the HIPAA
sensitive-data setting on (:mod:`connectors.hubspot.sensitive`). So:

- a HubSpot connection with ``privacy: full`` must say ``settings.sensitive_data``
  (``sensitive`` or ``highly_sensitive``): provisioning then creates every property its
  mapping sends PHI to as a sensitive-data property, and the app needs the sensitive scopes;
- ``sensitive_data`` on a connection below ``full`` is refused too: sensitive properties are
  the place for PHI under the BAA, and that tier may receive none.

Both are configuration problems that ``validate`` reports and every run raises before the
first API call; ``validate --online`` adds the sensitive scopes the app's token lacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.base import AT_TIER, LocalProblem, PhiFields
from connectors.hubspot.sensitive import granted_scopes, required_scopes
from connectors.hubspot.settings import HubSpotSettings
from mapping.privacy import PrivacyTier

if TYPE_CHECKING:
    from connectors.hubspot.connector import HubSpotConnector

__all__ = ["scope_problems", "tier_problems"]

_SETTING = ("settings", "sensitive_data")


def tier_problems(
    settings: HubSpotSettings, tier: PrivacyTier, phi_fields: PhiFields
) -> list[LocalProblem]:
    """The tier and ``sensitive_data`` disagree (see the module docstring)."""
    level = settings.sensitive_data
    if tier is PrivacyTier.FULL and level is None:
        return [_full_without(phi_fields)]
    if tier is not PrivacyTier.FULL and level is not None:
        return [
            LocalProblem(
                _SETTING,
                f"sensitive_data: {level} but privacy: {tier.value}; sensitive-data "
                "properties hold PHI under HubSpot's BAA, which this tier may not receive",
                "remove sensitive_data, or set privacy: full and baa: on the connection",
            )
        ]
    return []


def _full_without(phi_fields: PhiFields) -> LocalProblem:
    sends = ", ".join(f"{obj}.{f}" for obj, fields in phi_fields.items() for f in fields)
    scopes = ", ".join(required_scopes(list(phi_fields) or ["deals"], "sensitive"))
    what = f" and its mapping sends PHI to {sends}" if sends else ""
    return LocalProblem(
        AT_TIER,
        f"a HubSpot account with privacy: full{what}, but HubSpot's BAA covers PHI only "
        "in sensitive-data properties",
        "turn on the account's HIPAA sensitive-data setting (Enterprise), set "
        f"settings.sensitive_data: sensitive, grant the app the scopes {scopes}, then run "
        "`refsync provision hubspot --apply`; or lower privacy to deidentified",
    )


def scope_problems(connector: HubSpotConnector, phi_fields: PhiFields) -> list[LocalProblem]:
    """A HubSpot with sensitive data: the token holds the sensitive scopes its PHI needs
    (one read-only call; a RefsyncError if HubSpot cannot say)."""
    level = connector.settings.sensitive_data
    if level is None:
        return []
    granted = granted_scopes(connector.transport, connector.settings.auth == "oauth")
    missing = [s for s in required_scopes(list(phi_fields) or ["deals"], level) if s not in granted]
    if not missing:
        return []
    return [
        LocalProblem(
            _SETTING,
            f"the app's token lacks the scopes {', '.join(missing)}, which reading and "
            f"writing its {level}-data properties need",
            "grant them in the private app's Scopes tab (an OAuth app: add them to its scopes "
            "and have the account reinstall it), then put the new token in .env",
        )
    ]
