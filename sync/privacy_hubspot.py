"""A ``privacy: full`` HubSpot keeps PHI only in sensitive-data properties (validate-time).

HubSpot's BAA covers PHI only in sensitive-data properties of an account with the HIPAA
sensitive-data setting on (:mod:`connectors.hubspot.sensitive`). So:

- a HubSpot connection with ``privacy: full`` must say ``settings.sensitive_data``
  (``sensitive`` or ``highly_sensitive``): provisioning then creates every property its
  mapping sends PHI to as a sensitive-data property, and the app needs the sensitive scopes;
- ``sensitive_data`` on a connection below ``full`` is refused too: sensitive properties are
  the place for PHI under the BAA, and that tier may receive none.

Both are configuration problems (``file:line:col: message``) reported by ``validate`` and
raised by every run before the first API call.
"""

from __future__ import annotations

from typing import Any

from config import CONFIG_FILE, Program, locate
from connectors.hubspot.sensitive import LEVELS, SensitiveLevel, required_scopes
from mapping.privacy import DataClass, PrivacyTier
from mapping.privacy_flow import flows

__all__ = ["hubspot_problems", "sensitive_level", "sensitive_properties"]

_CLEAR = frozenset({DataClass.OPERATIONAL, DataClass.COARSENED})


def sensitive_level(program: Program, name: str) -> SensitiveLevel | None:
    """The ``sensitive_data`` setting of connection ``name`` (None when unset)."""
    settings: Any = program.settings.get(name)
    if isinstance(settings, dict):
        value = settings.get("sensitive_data")
    else:
        value = getattr(settings, "sensitive_data", None)
    return next((level for level in LEVELS if level == value), None)


def sensitive_properties(program: Program, name: str) -> dict[str, list[str]]:
    """Native object -> the fields connection ``name`` is sent PHI in (sorted)."""
    tiers = {n: c.tier for n, c in program.config.connections.items()}
    spec = program.mappings.get(name)
    found: dict[str, set[str]] = {}
    for flow in flows(program.mappings, tiers):
        if flow.connection == name and spec is not None and flow.classes - _CLEAR:
            obj = spec.entities[flow.entity].object  # type: ignore[index]
            found.setdefault(obj, set()).add(flow.native)
    return {obj: sorted(names) for obj, names in sorted(found.items())}


def hubspot_problems(program: Program) -> list[str]:
    """``file:line:col: message`` for each HubSpot connection whose tier and
    ``sensitive_data`` setting disagree (see the module docstring)."""
    config = program.root / CONFIG_FILE
    problems = []
    for name, conn in sorted(program.config.connections.items()):
        if conn.type != "hubspot":
            continue
        level = sensitive_level(program, name)
        if conn.tier is PrivacyTier.FULL and level is None:
            problems.append(_full_without(program, name, config))
        elif conn.tier is not PrivacyTier.FULL and level is not None:
            where = locate(config, ("connections", name, "settings", "sensitive_data"), str(config))
            problems.append(
                f"{where}: connection {name!r} has sensitive_data: {level} but privacy: "
                f"{conn.tier.value}; sensitive-data properties hold PHI under HubSpot's BAA, "
                "which this tier may not receive; fix: remove sensitive_data, or set privacy: "
                "full and baa: on the connection"
            )
    return problems


def _full_without(program: Program, name: str, config: Any) -> str:
    conn = program.config.connections[name]
    key = "privacy" if conn.privacy is not None else "phi_allowed"
    where = locate(config, ("connections", name, key), str(config))
    phi = sensitive_properties(program, name)
    sends = ", ".join(f"{obj}.{f}" for obj, fields in phi.items() for f in fields)
    scopes = ", ".join(required_scopes(phi or ["deals"], "sensitive"))
    what = f" and its mapping sends PHI to {sends}" if sends else ""
    return (
        f"{where}: connection {name!r} is a HubSpot account with privacy: full{what}, but "
        "HubSpot's BAA covers PHI only in sensitive-data properties; fix: turn on the "
        "account's HIPAA sensitive-data setting (Enterprise), set settings.sensitive_data: "
        f"sensitive, grant the app the scopes {scopes}, then run `refsync provision hubspot "
        "--apply`; or lower privacy to deidentified"
    )
