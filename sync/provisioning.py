"""Provisioning a CRM for the default mappings, shared by ``refsync provision`` and the demo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sync.engine import Runtime, open_program
from sync.privacy_hubspot import sensitive_properties

__all__ = ["provision_hubspot"]


def provision_hubspot(
    program_dir: Path,
    *,
    connection: str = "hubspot",
    apply: bool = True,
    say: Callable[[str], None] = lambda _line: None,
) -> int:
    """Plan (and when ``apply``, make) what the HubSpot mapping needs; the changes made."""
    from connectors.hubspot.provision import apply_provision, plan_provision

    runtime = Runtime(open_program(program_dir))
    try:
        connector = runtime.connector(connection)
        program = runtime.program
        # PHI goes to sensitive-data properties (a privacy: full HubSpot says sensitive_data)
        sensitive = sensitive_properties(program, connection)
        plan = plan_provision(connector, sensitive)  # type: ignore[arg-type]
        for action in plan:
            say(f"  {action}")
        if not apply or not any(a.applies for a in plan):
            return 0
        return apply_provision(connector, plan)  # type: ignore[arg-type]
    finally:
        runtime.close()
